//! Every `unsafe` of the raw transport: rcl through `r2r_rcl`, and type
//! support libraries through `libloading`. The rest of `raw` is safe Rust
//! (`raw.rs` denies `unsafe_code`; only this module is allowed it).
//!
//! # Invariants
//! 1. **Stable addresses.** Every rcl object (`rcl_context_t`, `rcl_node_t`,
//!    `rcl_subscription_t`, `rcl_publisher_t`, `rcl_guard_condition_t`,
//!    `rcl_wait_set_t`) is heap-allocated once (`Box::into_raw`), never
//!    moved, and freed only in its owner's `Drop`, after its `*_fini`.
//! 2. **Drop order.** An entity holds an `Arc` of what it was created from:
//!    subscriptions, publishers → node → context; guard conditions and wait
//!    sets → context. So a subscription is finalized before its node, a node
//!    before its context, whatever order the user drops things in.
//! 3. **Type support lifetime.** A type support handle points into its
//!    library: a [`TypeSupportHandle`] holds the library (`Arc`), and every
//!    entity created with it hands the library to its [`Context`], which
//!    unloads it only after `rcl_context_fini` (Fast DDS may keep a
//!    registered type until its participant is gone).
//! 4. **Serialization of node-level calls.** Creating and finalizing entities
//!    and graph queries on one node hold that node's lock; creating and
//!    finalizing nodes, guard conditions and wait sets hold the context's.
//!    Taking and publishing need no lock (rcl: thread-safe per entity);
//!    `Subscription::take` takes `&mut self`, so one subscription is never
//!    taken from by two threads at once.
//! 5. **Wait sets keep no pointers.** A wait set holds pointers to the
//!    subscriptions only inside [`WaitSet::wait`], whose arguments borrow
//!    them; it is cleared before `wait` returns.
//! 6. **Events die first.** A subscription's message-lost event
//!    (`rcl_event_t`, boxed like the rest) is finalized in the
//!    subscription's `Drop` before the subscription it was made from.
//! 7. **Owned buffers.** A [`SerializedBuf`] owns its `rcutils_uint8_array_t`
//!    exclusively (allocated by rcutils' default allocator, freed once in
//!    `Drop`); `as_bytes` views exactly `buffer_length` initialized bytes.
#![warn(clippy::undocumented_unsafe_blocks)]

use std::ffi::{CStr, c_char};
use std::path::Path;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use libloading::Library;
use r2r_rcl::{
    RCL_RET_OK, RCL_RET_SUBSCRIPTION_TAKE_FAILED, RCL_RET_TIMEOUT, rcl_context_t, rcl_event_t,
    rcl_guard_condition_t, rcl_node_t, rcl_publisher_t, rcl_serialized_message_t,
    rcl_subscription_t, rcl_wait_set_t, rcutils_allocator_t, rmw_message_info_t,
    rmw_message_lost_status_t, rmw_qos_profile_t, rosidl_message_type_support_t,
};

/// A failed rcl call: the function, its return code and rcl's error string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RclError {
    pub op: &'static str,
    pub code: i32,
    pub message: String,
}

fn allocator() -> rcutils_allocator_t {
    // SAFETY: returns a struct of function pointers to malloc and friends;
    // no preconditions.
    unsafe { r2r_rcl::rcutils_get_default_allocator() }
}

/// rcutils' thread-local error string, then reset (so it does not leak into
/// the next error).
fn take_error_string() -> String {
    // SAFETY: both functions only touch this thread's error state.
    let s = unsafe { r2r_rcl::rcutils_get_error_string() };
    // SAFETY: as above.
    unsafe { r2r_rcl::rcutils_reset_error() };
    let bytes: Vec<u8> = s.str_.iter().map(|&c| c as u8).collect();
    CStr::from_bytes_until_nul(&bytes)
        .map(|c| c.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn check(op: &'static str, ret: i32) -> Result<(), RclError> {
    if ret == RCL_RET_OK as i32 {
        Ok(())
    } else {
        Err(RclError {
            op,
            code: ret,
            message: take_error_string(),
        })
    }
}

fn lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    // The lock guards no data, only call order: a poisoned lock is as good.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn c_string(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: rcl hands out NUL-terminated strings that live at least as
    // long as the call that returned them; we copy at once.
    unsafe { CStr::from_ptr(ptr) }
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------- context

/// An rcl context of its own (its own DDS participant), initialized without
/// the process's arguments.
pub(super) struct Context {
    handle: NonNull<rcl_context_t>,
    lock: Mutex<()>,
    /// Type support libraries used by entities of this context (invariant 3).
    libraries: Mutex<Vec<Arc<Library>>>,
}

// SAFETY: the context is only passed to rcl functions that are thread-safe
// for a context (node/guard condition/wait set init), and those calls are
// serialized by `lock` (invariant 4).
unsafe impl Send for Context {}
// SAFETY: as above.
unsafe impl Sync for Context {}

impl Context {
    pub(super) fn new(domain_id: Option<usize>) -> Result<Arc<Context>, RclError> {
        // SAFETY: returns a zero-initialized struct.
        let mut options = unsafe { r2r_rcl::rcl_get_zero_initialized_init_options() };
        // SAFETY: `options` is zero-initialized, as rcl_init_options_init
        // requires; the allocator is valid.
        check("rcl_init_options_init", unsafe {
            r2r_rcl::rcl_init_options_init(&mut options, allocator())
        })?;
        let set_domain = match domain_id {
            // SAFETY: `options` was initialized above.
            Some(id) => check("rcl_init_options_set_domain_id", unsafe {
                r2r_rcl::rcl_init_options_set_domain_id(&mut options, id)
            }),
            None => Ok(()),
        };
        // SAFETY: returns a zero-initialized struct; boxed for a stable
        // address (invariant 1).
        let handle = Box::into_raw(Box::new(unsafe {
            r2r_rcl::rcl_get_zero_initialized_context()
        }));
        let init = set_domain.and_then(|()| {
            // SAFETY: argc 0 with a null argv is allowed; `options` is
            // initialized; `handle` is a zero-initialized context.
            check("rcl_init", unsafe {
                r2r_rcl::rcl_init(0, std::ptr::null(), &options, handle)
            })
        });
        // SAFETY: rcl_init copied the options; they are ours to finalize.
        unsafe { r2r_rcl::rcl_init_options_fini(&mut options) };
        if let Err(e) = init {
            // SAFETY: a failed rcl_init leaves a context that only needs
            // rcl_context_fini (which accepts a zero-initialized one);
            // `handle` came from Box::into_raw above and is freed once.
            unsafe {
                r2r_rcl::rcl_context_fini(handle);
                drop(Box::from_raw(handle));
            }
            take_error_string();
            return Err(e);
        }
        Ok(Arc::new(Context {
            // SAFETY: Box::into_raw never returns null.
            handle: unsafe { NonNull::new_unchecked(handle) },
            lock: Mutex::new(()),
            libraries: Mutex::new(Vec::new()),
        }))
    }

    fn keep_library(&self, library: &Option<Arc<Library>>) {
        if let Some(lib) = library {
            let mut libs = self
                .libraries
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !libs.iter().any(|l| Arc::ptr_eq(l, lib)) {
                libs.push(lib.clone());
            }
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: every node, guard condition and wait set holds an Arc of
        // this context, so none is left (invariant 2); the handle was
        // initialized by rcl_init and is finalized once, then freed.
        unsafe {
            r2r_rcl::rcl_shutdown(self.handle.as_ptr());
            r2r_rcl::rcl_context_fini(self.handle.as_ptr());
            drop(Box::from_raw(self.handle.as_ptr()));
        }
        take_error_string();
        // `libraries` drops after this: the participant is gone (invariant 3).
    }
}

// ---------------------------------------------------------------- node

/// One endpoint of a topic, as the graph reports it.
pub(super) struct Endpoint {
    pub node_name: String,
    pub node_namespace: String,
    pub topic_type: String,
    pub qos: rmw_qos_profile_t,
}

/// An rcl node without rosout.
pub(super) struct Node {
    handle: NonNull<rcl_node_t>,
    lock: Mutex<()>,
    context: Arc<Context>,
}

// SAFETY: every use of the node handle except read-only name queries holds
// `lock` (invariant 4).
unsafe impl Send for Node {}
// SAFETY: as above.
unsafe impl Sync for Node {}

impl Node {
    pub(super) fn new(
        context: &Arc<Context>,
        name: &CStr,
        namespace: &CStr,
    ) -> Result<Arc<Node>, RclError> {
        let _guard = lock(&context.lock);
        // SAFETY: returns a default options struct.
        let mut options = unsafe { r2r_rcl::rcl_node_get_default_options() };
        options.enable_rosout = false; // rosout stays on the r2r node
        // Global arguments stay on: this context was initialized without
        // any, so no remapping applies.
        // SAFETY: zero-initialized struct, boxed (invariant 1).
        let handle = Box::into_raw(Box::new(unsafe {
            r2r_rcl::rcl_get_zero_initialized_node()
        }));
        // SAFETY: `handle` is zero-initialized, the strings are
        // NUL-terminated, the context is initialized and outlives the node
        // (the Arc below); rcl copies the options.
        let ret = check("rcl_node_init", unsafe {
            r2r_rcl::rcl_node_init(
                handle,
                name.as_ptr(),
                namespace.as_ptr(),
                context.handle.as_ptr(),
                &options,
            )
        });
        // SAFETY: the options are ours (rcl_node_init copied them).
        unsafe { r2r_rcl::rcl_node_options_fini(&mut options) };
        if let Err(e) = ret {
            // SAFETY: from Box::into_raw above; rcl_node_init failed, so
            // there is nothing to finalize.
            unsafe { drop(Box::from_raw(handle)) };
            return Err(e);
        }
        Ok(Arc::new(Node {
            // SAFETY: Box::into_raw never returns null.
            handle: unsafe { NonNull::new_unchecked(handle) },
            lock: Mutex::new(()),
            context: context.clone(),
        }))
    }

    pub(super) fn context(&self) -> &Arc<Context> {
        &self.context
    }

    /// The node's fully qualified name.
    pub(super) fn fully_qualified_name(&self) -> String {
        // SAFETY: the node is initialized; the string is copied at once.
        c_string(unsafe { r2r_rcl::rcl_node_get_fully_qualified_name(self.handle.as_ptr()) })
    }

    /// Every topic on the graph with its type names.
    pub(super) fn topic_names_and_types(&self) -> Result<Vec<(String, Vec<String>)>, RclError> {
        let _guard = lock(&self.lock);
        // SAFETY: zero-initialized, as rcl requires.
        let mut nat = unsafe { r2r_rcl::rmw_get_zero_initialized_names_and_types() };
        let mut alloc = allocator();
        // SAFETY: initialized node; `nat` zero-initialized; `alloc` valid.
        check("rcl_get_topic_names_and_types", unsafe {
            r2r_rcl::rcl_get_topic_names_and_types(
                self.handle.as_ptr(),
                &mut alloc,
                false,
                &mut nat,
            )
        })?;
        let mut out = Vec::with_capacity(nat.names.size);
        if !nat.names.data.is_null() && !nat.types.is_null() {
            // SAFETY: on success rcl filled `names.size` names and as many
            // type arrays.
            let names = unsafe { std::slice::from_raw_parts(nat.names.data, nat.names.size) };
            // SAFETY: as above.
            let types = unsafe { std::slice::from_raw_parts(nat.types, nat.names.size) };
            for (name, ty) in names.iter().zip(types) {
                let tys = if ty.data.is_null() {
                    Vec::new()
                } else {
                    // SAFETY: each type array holds `size` strings.
                    unsafe { std::slice::from_raw_parts(ty.data, ty.size) }
                        .iter()
                        .map(|&t| c_string(t))
                        .collect()
                };
                out.push((c_string(*name), tys));
            }
        }
        // SAFETY: filled by rcl above; finalized once.
        unsafe { r2r_rcl::rmw_names_and_types_fini(&mut nat) };
        Ok(out)
    }

    /// The publishers (`publishers` true) or subscriptions of a fully
    /// qualified topic name.
    pub(super) fn endpoints(
        &self,
        topic: &CStr,
        publishers: bool,
    ) -> Result<Vec<Endpoint>, RclError> {
        let _guard = lock(&self.lock);
        let mut alloc = allocator();
        // SAFETY: zero-initialized, as rcl requires.
        let mut info = unsafe { r2r_rcl::rmw_get_zero_initialized_topic_endpoint_info_array() };
        let (op, ret) = if publishers {
            // SAFETY: initialized node, NUL-terminated topic, valid
            // allocator, zero-initialized array.
            ("rcl_get_publishers_info_by_topic", unsafe {
                r2r_rcl::rcl_get_publishers_info_by_topic(
                    self.handle.as_ptr(),
                    &mut alloc,
                    topic.as_ptr(),
                    false,
                    &mut info,
                )
            })
        } else {
            // SAFETY: as above.
            ("rcl_get_subscriptions_info_by_topic", unsafe {
                r2r_rcl::rcl_get_subscriptions_info_by_topic(
                    self.handle.as_ptr(),
                    &mut alloc,
                    topic.as_ptr(),
                    false,
                    &mut info,
                )
            })
        };
        let result = check(op, ret).map(|()| {
            if info.info_array.is_null() {
                return Vec::new();
            }
            // SAFETY: on success rcl filled `size` entries.
            unsafe { std::slice::from_raw_parts(info.info_array, info.size) }
                .iter()
                .map(|e| Endpoint {
                    node_name: c_string(e.node_name),
                    node_namespace: c_string(e.node_namespace),
                    topic_type: c_string(e.topic_type),
                    qos: e.qos_profile,
                })
                .collect()
        });
        // SAFETY: the array is zero-initialized or filled by rcl; finalized
        // once with the allocator that filled it.
        unsafe { r2r_rcl::rmw_topic_endpoint_info_array_fini(&mut info, &mut alloc) };
        take_error_string();
        result
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _guard = lock(&self.context.lock);
        // SAFETY: every subscription and publisher holds an Arc of this node,
        // so none is left (invariant 2); finalized once, then freed.
        unsafe {
            r2r_rcl::rcl_node_fini(self.handle.as_ptr());
            drop(Box::from_raw(self.handle.as_ptr()));
        }
        take_error_string();
    }
}

// ---------------------------------------------------------------- type support

/// A message type support handle and the library it points into.
#[derive(Clone)]
pub(super) struct TypeSupportHandle {
    ptr: NonNull<rosidl_message_type_support_t>,
    library: Option<Arc<Library>>,
}

// SAFETY: the handle points to immutable static data of a loaded library
// (kept loaded by `library`, invariant 3) or of this binary; rcl reads it
// from any thread.
unsafe impl Send for TypeSupportHandle {}
// SAFETY: as above.
unsafe impl Sync for TypeSupportHandle {}

impl TypeSupportHandle {
    /// A handle compiled into this binary (r2r's table).
    pub(super) fn from_static(ts: &'static rosidl_message_type_support_t) -> Self {
        TypeSupportHandle {
            ptr: NonNull::from(ts),
            library: None,
        }
    }

    /// Do both handles point at the same type support?
    pub(super) fn same(&self, other: &TypeSupportHandle) -> bool {
        self.ptr == other.ptr
    }
}

/// Why a symbol gave no handle.
pub(super) enum SymbolError {
    Missing(String),
    Null,
}

/// Loads a shared library (`dlopen`, local binding).
pub(super) fn load_library(path: &Path) -> Result<Arc<Library>, String> {
    // SAFETY: loading runs the library's initializers. The path is a
    // `lib<pkg>__rosidl_typesupport_c.so` found through the ament index:
    // generated rosidl code whose initializers only set up static data,
    // the same library rcl-based tools (ros2 bag, topic_tools) load.
    unsafe { Library::new(path) }
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Calls `symbol`, a `rosidl_typesupport_c__get_message_type_support_handle__*`
/// function of `library`.
pub(super) fn message_type_support(
    library: &Arc<Library>,
    symbol: &str,
) -> Result<TypeSupportHandle, SymbolError> {
    type GetHandle = unsafe extern "C" fn() -> *const rosidl_message_type_support_t;
    // SAFETY: rosidl_typesupport_c generates this symbol as exactly
    // `const rosidl_message_type_support_t * f(void)`; the name is built
    // from a validated package and type name.
    let get = unsafe { library.get::<GetHandle>(symbol.as_bytes()) }
        .map_err(|e| SymbolError::Missing(e.to_string()))?;
    // SAFETY: the function takes no arguments and returns a pointer to
    // static data of the library, which `library` keeps loaded.
    let ptr = unsafe { get() };
    NonNull::new(ptr.cast_mut())
        .map(|ptr| TypeSupportHandle {
            ptr,
            library: Some(library.clone()),
        })
        .ok_or(SymbolError::Null)
}

// ---------------------------------------------------------------- buffers

/// A serialized message buffer owned by Rust (invariant 6).
pub(super) struct SerializedBuf(rcl_serialized_message_t);

// SAFETY: the buffer is owned exclusively and the allocator is malloc/free,
// which any thread may call.
unsafe impl Send for SerializedBuf {}
// SAFETY: shared access only reads the bytes.
unsafe impl Sync for SerializedBuf {}

impl SerializedBuf {
    pub(super) fn with_capacity(capacity: usize) -> Result<SerializedBuf, RclError> {
        // SAFETY: returns a zero-initialized array.
        let mut array = unsafe { r2r_rcl::rcutils_get_zero_initialized_uint8_array() };
        let alloc = allocator();
        // SAFETY: zero-initialized array, valid allocator.
        check("rcutils_uint8_array_init", unsafe {
            r2r_rcl::rcutils_uint8_array_init(&mut array, capacity, &alloc)
        })?;
        Ok(SerializedBuf(array))
    }

    pub(super) fn from_bytes(bytes: &[u8]) -> Result<SerializedBuf, RclError> {
        let mut buf = SerializedBuf::with_capacity(bytes.len())?;
        if !bytes.is_empty() {
            // SAFETY: the buffer has room for `bytes.len()` bytes (init
            // above) and does not overlap `bytes`.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.0.buffer, bytes.len()) };
        }
        buf.0.buffer_length = bytes.len();
        Ok(buf)
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        if self.0.buffer.is_null() || self.0.buffer_length == 0 {
            return &[];
        }
        // SAFETY: rcutils/rmw keep `buffer_length <= buffer_capacity` bytes
        // initialized (written by rmw's take or by `from_bytes`).
        unsafe { std::slice::from_raw_parts(self.0.buffer, self.0.buffer_length) }
    }
}

impl Drop for SerializedBuf {
    fn drop(&mut self) {
        // SAFETY: initialized by rcutils_uint8_array_init (possibly resized
        // by rmw with the same allocator); finalized once.
        unsafe { r2r_rcl::rcutils_uint8_array_fini(&mut self.0) };
        take_error_string();
    }
}

// ---------------------------------------------------------------- subscription

/// Timestamps rmw reports for a taken message (ns since the epoch).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TakeInfo {
    pub source_timestamp: i64,
    pub received_timestamp: i64,
}

pub(super) struct Subscription {
    handle: NonNull<rcl_subscription_t>,
    /// The message-lost event, `None` where rmw does not support it.
    lost: Option<NonNull<rcl_event_t>>,
    node: Arc<Node>,
    _type_support: TypeSupportHandle,
}

// SAFETY: taking needs `&mut self` (one taker), waiting only reads the
// handle, and creation/finalization hold the node's lock (invariant 4).
unsafe impl Send for Subscription {}
// SAFETY: as above.
unsafe impl Sync for Subscription {}

impl Subscription {
    pub(super) fn new(
        node: &Arc<Node>,
        topic: &CStr,
        type_support: &TypeSupportHandle,
        qos: rmw_qos_profile_t,
    ) -> Result<Subscription, RclError> {
        let _guard = lock(&node.lock);
        // SAFETY: returns default options.
        let mut options = unsafe { r2r_rcl::rcl_subscription_get_default_options() };
        options.qos = qos;
        // SAFETY: zero-initialized, boxed (invariant 1).
        let handle = Box::into_raw(Box::new(unsafe {
            r2r_rcl::rcl_get_zero_initialized_subscription()
        }));
        // SAFETY: initialized node; valid type support kept alive by the
        // handle and the context (invariant 3); NUL-terminated topic; rcl
        // copies the options.
        let ret = check("rcl_subscription_init", unsafe {
            r2r_rcl::rcl_subscription_init(
                handle,
                node.handle.as_ptr(),
                type_support.ptr.as_ptr(),
                topic.as_ptr(),
                &options,
            )
        });
        if let Err(e) = ret {
            // SAFETY: from Box::into_raw above; nothing to finalize.
            unsafe { drop(Box::from_raw(handle)) };
            return Err(e);
        }
        node.context.keep_library(&type_support.library);
        Ok(Subscription {
            // SAFETY: Box::into_raw never returns null.
            handle: unsafe { NonNull::new_unchecked(handle) },
            lost: lost_event(handle),
            node: node.clone(),
            _type_support: type_support.clone(),
        })
    }

    /// Takes one message into `buf` (resized by rmw if needed); `None` if
    /// nothing was waiting.
    pub(super) fn take(&mut self, buf: &mut SerializedBuf) -> Result<Option<TakeInfo>, RclError> {
        let mut info = rmw_message_info_t::default();
        // SAFETY: initialized subscription; `buf.0` is an initialized array
        // that rmw may resize with its own allocator; `info` is
        // zero-initialized.
        let ret = unsafe {
            r2r_rcl::rcl_take_serialized_message(
                self.handle.as_ptr(),
                &mut buf.0,
                &mut info,
                std::ptr::null_mut(),
            )
        };
        if ret == RCL_RET_SUBSCRIPTION_TAKE_FAILED as i32 {
            take_error_string();
            return Ok(None);
        }
        check("rcl_take_serialized_message", ret)?;
        Ok(Some(TakeInfo {
            source_timestamp: info.source_timestamp,
            received_timestamp: info.received_timestamp,
        }))
    }

    /// The messages the middleware reports lost on this subscription so
    /// far (`RMW_EVENT_MESSAGE_LOST`'s total), or `None` where rmw does
    /// not report them.
    pub(super) fn lost_total(&self) -> Result<Option<u64>, RclError> {
        let Some(event) = self.lost else {
            return Ok(None);
        };
        let mut status = rmw_message_lost_status_t {
            total_count: 0,
            total_count_change: 0,
        };
        // SAFETY: initialized event of this live subscription (invariant 6);
        // `status` is the type rmw writes for MESSAGE_LOST.
        let ret = unsafe {
            r2r_rcl::rcl_take_event(event.as_ptr(), (&raw mut status).cast::<std::ffi::c_void>())
        };
        check("rcl_take_event", ret)?;
        Ok(Some(status.total_count as u64))
    }

    pub(super) fn publisher_count(&self) -> Result<usize, RclError> {
        let mut n = 0;
        // SAFETY: initialized subscription, valid out pointer.
        check("rcl_subscription_get_publisher_count", unsafe {
            r2r_rcl::rcl_subscription_get_publisher_count(self.handle.as_ptr(), &mut n)
        })?;
        Ok(n)
    }

    pub(super) fn topic_name(&self) -> String {
        // SAFETY: initialized subscription; copied at once.
        c_string(unsafe { r2r_rcl::rcl_subscription_get_topic_name(self.handle.as_ptr()) })
    }

    pub(super) fn context(&self) -> &Arc<Context> {
        &self.node.context
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _guard = lock(&self.node.lock);
        if let Some(event) = self.lost.take() {
            // SAFETY: initialized in `lost_event`, finalized once, before
            // its subscription (invariant 6), then freed.
            unsafe {
                r2r_rcl::rcl_event_fini(event.as_ptr());
                drop(Box::from_raw(event.as_ptr()));
            }
            take_error_string();
        }
        // SAFETY: initialized with this node, which is alive (we hold it);
        // finalized once, then freed (invariants 1, 2).
        unsafe {
            r2r_rcl::rcl_subscription_fini(self.handle.as_ptr(), self.node.handle.as_ptr());
            drop(Box::from_raw(self.handle.as_ptr()));
        }
        take_error_string();
    }
}

/// The message-lost event of `subscription` (initialized), or `None` where
/// rmw does not support it (`RCL_RET_UNSUPPORTED`) or it fails.
fn lost_event(subscription: *const rcl_subscription_t) -> Option<NonNull<rcl_event_t>> {
    // SAFETY: zero-initialized, boxed (invariant 1).
    let event = Box::into_raw(Box::new(unsafe {
        r2r_rcl::rcl_get_zero_initialized_event()
    }));
    // SAFETY: `subscription` is initialized; the event outlives no longer
    // than it (invariant 6).
    let ret = unsafe {
        r2r_rcl::rcl_subscription_event_init(
            event,
            subscription,
            r2r_rcl::rcl_subscription_event_type_t::RCL_SUBSCRIPTION_MESSAGE_LOST,
        )
    };
    if ret != RCL_RET_OK as i32 {
        take_error_string();
        // SAFETY: from Box::into_raw above; not initialized.
        unsafe { drop(Box::from_raw(event)) };
        return None;
    }
    // SAFETY: Box::into_raw never returns null.
    Some(unsafe { NonNull::new_unchecked(event) })
}

// ---------------------------------------------------------------- publisher

pub(super) struct Publisher {
    handle: NonNull<rcl_publisher_t>,
    node: Arc<Node>,
    _type_support: TypeSupportHandle,
}

// SAFETY: rcl_publish_serialized_message is thread-safe for one publisher;
// creation/finalization hold the node's lock (invariant 4).
unsafe impl Send for Publisher {}
// SAFETY: as above.
unsafe impl Sync for Publisher {}

impl Publisher {
    pub(super) fn new(
        node: &Arc<Node>,
        topic: &CStr,
        type_support: &TypeSupportHandle,
        qos: rmw_qos_profile_t,
    ) -> Result<Publisher, RclError> {
        let _guard = lock(&node.lock);
        // SAFETY: returns default options.
        let mut options = unsafe { r2r_rcl::rcl_publisher_get_default_options() };
        options.qos = qos;
        // SAFETY: zero-initialized, boxed (invariant 1).
        let handle = Box::into_raw(Box::new(unsafe {
            r2r_rcl::rcl_get_zero_initialized_publisher()
        }));
        // SAFETY: as for subscriptions.
        let ret = check("rcl_publisher_init", unsafe {
            r2r_rcl::rcl_publisher_init(
                handle,
                node.handle.as_ptr(),
                type_support.ptr.as_ptr(),
                topic.as_ptr(),
                &options,
            )
        });
        if let Err(e) = ret {
            // SAFETY: from Box::into_raw above; nothing to finalize.
            unsafe { drop(Box::from_raw(handle)) };
            return Err(e);
        }
        node.context.keep_library(&type_support.library);
        Ok(Publisher {
            // SAFETY: Box::into_raw never returns null.
            handle: unsafe { NonNull::new_unchecked(handle) },
            node: node.clone(),
            _type_support: type_support.clone(),
        })
    }

    /// Publishes `bytes` as a serialized message (rmw copies them).
    pub(super) fn publish(&self, bytes: &[u8]) -> Result<(), RclError> {
        // A read-only view: rmw neither frees nor resizes a message it
        // publishes, so the allocator is never used.
        let view = rcl_serialized_message_t {
            buffer: bytes.as_ptr().cast_mut(),
            buffer_length: bytes.len(),
            buffer_capacity: bytes.len(),
            allocator: allocator(),
        };
        // SAFETY: initialized publisher; `view` points at `bytes`, which
        // outlive the call, and rmw only reads it.
        check("rcl_publish_serialized_message", unsafe {
            r2r_rcl::rcl_publish_serialized_message(
                self.handle.as_ptr(),
                &view,
                std::ptr::null_mut(),
            )
        })
    }

    pub(super) fn subscription_count(&self) -> Result<usize, RclError> {
        let mut n = 0;
        // SAFETY: initialized publisher, valid out pointer.
        check("rcl_publisher_get_subscription_count", unsafe {
            r2r_rcl::rcl_publisher_get_subscription_count(self.handle.as_ptr(), &mut n)
        })?;
        Ok(n)
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let _guard = lock(&self.node.lock);
        // SAFETY: as for subscriptions.
        unsafe {
            r2r_rcl::rcl_publisher_fini(self.handle.as_ptr(), self.node.handle.as_ptr());
            drop(Box::from_raw(self.handle.as_ptr()));
        }
        take_error_string();
    }
}

// ---------------------------------------------------------------- waiting

pub(super) struct GuardCondition {
    handle: NonNull<rcl_guard_condition_t>,
    context: Arc<Context>,
}

// SAFETY: triggering is thread-safe in rmw (an atomic flag and a condition
// variable); init/fini hold the context's lock (invariant 4).
unsafe impl Send for GuardCondition {}
// SAFETY: as above.
unsafe impl Sync for GuardCondition {}

impl GuardCondition {
    pub(super) fn new(context: &Arc<Context>) -> Result<GuardCondition, RclError> {
        let _guard = lock(&context.lock);
        // SAFETY: zero-initialized, boxed (invariant 1).
        let handle = Box::into_raw(Box::new(unsafe {
            r2r_rcl::rcl_get_zero_initialized_guard_condition()
        }));
        // SAFETY: zero-initialized guard condition, initialized context
        // that outlives it (the Arc below), default options.
        let ret = check("rcl_guard_condition_init", unsafe {
            r2r_rcl::rcl_guard_condition_init(
                handle,
                context.handle.as_ptr(),
                r2r_rcl::rcl_guard_condition_get_default_options(),
            )
        });
        if let Err(e) = ret {
            // SAFETY: from Box::into_raw above; nothing to finalize.
            unsafe { drop(Box::from_raw(handle)) };
            return Err(e);
        }
        Ok(GuardCondition {
            // SAFETY: Box::into_raw never returns null.
            handle: unsafe { NonNull::new_unchecked(handle) },
            context: context.clone(),
        })
    }

    pub(super) fn trigger(&self) -> Result<(), RclError> {
        // SAFETY: initialized guard condition; thread-safe (see Send).
        check("rcl_trigger_guard_condition", unsafe {
            r2r_rcl::rcl_trigger_guard_condition(self.handle.as_ptr())
        })
    }
}

impl Drop for GuardCondition {
    fn drop(&mut self) {
        let _guard = lock(&self.context.lock);
        // SAFETY: initialized; no wait set holds it (invariant 5); finalized
        // once, then freed.
        unsafe {
            r2r_rcl::rcl_guard_condition_fini(self.handle.as_ptr());
            drop(Box::from_raw(self.handle.as_ptr()));
        }
        take_error_string();
    }
}

pub(super) struct WaitSet {
    handle: NonNull<rcl_wait_set_t>,
    subscriptions: usize,
    context: Arc<Context>,
}

// SAFETY: used through `&mut self` only; init/fini hold the context's lock.
unsafe impl Send for WaitSet {}

/// What woke a wait.
pub(super) enum Woken {
    /// rcl_wait returned before the timeout.
    Ready,
    /// The timeout passed.
    Timeout,
}

impl WaitSet {
    pub(super) fn new(context: &Arc<Context>) -> Result<WaitSet, RclError> {
        let _guard = lock(&context.lock);
        // SAFETY: zero-initialized, boxed (invariant 1).
        let handle = Box::into_raw(Box::new(unsafe {
            r2r_rcl::rcl_get_zero_initialized_wait_set()
        }));
        // SAFETY: zero-initialized wait set for 0 subscriptions and 1 guard
        // condition, initialized context that outlives it.
        let ret = check("rcl_wait_set_init", unsafe {
            r2r_rcl::rcl_wait_set_init(
                handle,
                0,
                1,
                0,
                0,
                0,
                0,
                context.handle.as_ptr(),
                allocator(),
            )
        });
        if let Err(e) = ret {
            // SAFETY: from Box::into_raw above; nothing to finalize.
            unsafe { drop(Box::from_raw(handle)) };
            return Err(e);
        }
        Ok(WaitSet {
            // SAFETY: Box::into_raw never returns null.
            handle: unsafe { NonNull::new_unchecked(handle) },
            subscriptions: 0,
            context: context.clone(),
        })
    }

    pub(super) fn context(&self) -> &Arc<Context> {
        &self.context
    }

    /// Blocks until one of `subscriptions` has data, `guard` is triggered or
    /// `timeout` passes (`None`: no timeout). Pushes the indices of the
    /// ready subscriptions to `ready`; returns whether `guard` fired.
    /// The caller checks that everything belongs to this wait set's context.
    pub(super) fn wait(
        &mut self,
        subscriptions: &[&Subscription],
        guard: &GuardCondition,
        timeout: Option<Duration>,
        ready: &mut Vec<usize>,
    ) -> Result<(Woken, bool), RclError> {
        let ws = self.handle.as_ptr();
        if subscriptions.len() != self.subscriptions {
            // SAFETY: initialized wait set; resize keeps it initialized.
            check("rcl_wait_set_resize", unsafe {
                r2r_rcl::rcl_wait_set_resize(ws, subscriptions.len(), 1, 0, 0, 0, 0)
            })?;
            self.subscriptions = subscriptions.len();
        }
        // SAFETY: initialized wait set.
        check("rcl_wait_set_clear", unsafe {
            r2r_rcl::rcl_wait_set_clear(ws)
        })?;
        let filled = self.fill_and_wait(subscriptions, guard, timeout, ready);
        // Invariant 5: no pointer outlives the borrow of `subscriptions`.
        // SAFETY: initialized wait set.
        let cleared = check("rcl_wait_set_clear", unsafe {
            r2r_rcl::rcl_wait_set_clear(ws)
        });
        let woken = filled?;
        cleared?;
        Ok(woken)
    }

    fn fill_and_wait(
        &mut self,
        subscriptions: &[&Subscription],
        guard: &GuardCondition,
        timeout: Option<Duration>,
        ready: &mut Vec<usize>,
    ) -> Result<(Woken, bool), RclError> {
        let ws = self.handle.as_ptr();
        for s in subscriptions {
            // SAFETY: room for every subscription (resized above); the
            // subscription is initialized and borrowed for this call.
            check("rcl_wait_set_add_subscription", unsafe {
                r2r_rcl::rcl_wait_set_add_subscription(ws, s.handle.as_ptr(), std::ptr::null_mut())
            })?;
        }
        // SAFETY: room for one guard condition; initialized, borrowed.
        check("rcl_wait_set_add_guard_condition", unsafe {
            r2r_rcl::rcl_wait_set_add_guard_condition(
                ws,
                guard.handle.as_ptr(),
                std::ptr::null_mut(),
            )
        })?;
        let timeout_ns = timeout.map_or(-1, |t| i64::try_from(t.as_nanos()).unwrap_or(i64::MAX));
        // SAFETY: the wait set holds only live, borrowed entities.
        let ret = unsafe { r2r_rcl::rcl_wait(ws, timeout_ns) };
        if ret == RCL_RET_TIMEOUT as i32 {
            take_error_string();
            return Ok((Woken::Timeout, false));
        }
        check("rcl_wait", ret)?;
        // SAFETY: rcl_wait returned, so the wait set is not being written.
        let w = unsafe { &*ws };
        // SAFETY: after rcl_wait the arrays hold `size_of_*` entries, null
        // for entities that are not ready.
        let subs = unsafe { entries(w.subscriptions, w.size_of_subscriptions) };
        // SAFETY: as above.
        let guards = unsafe { entries(w.guard_conditions, w.size_of_guard_conditions) };
        ready.extend(
            subs.iter()
                .enumerate()
                .filter(|(_, p)| !p.is_null())
                .map(|(i, _)| i),
        );
        Ok((Woken::Ready, guards.iter().any(|p| !p.is_null())))
    }
}

impl Drop for WaitSet {
    fn drop(&mut self) {
        let _guard = lock(&self.context.lock);
        // SAFETY: initialized; finalized once, then freed.
        unsafe {
            r2r_rcl::rcl_wait_set_fini(self.handle.as_ptr());
            drop(Box::from_raw(self.handle.as_ptr()));
        }
        take_error_string();
    }
}

/// The `len` entries at `ptr`, or none if `ptr` is null.
///
/// # Safety
/// A non-null `ptr` must point to `len` initialized entries that stay
/// unchanged while the slice is used.
unsafe fn entries<'a, T>(ptr: *mut *const T, len: usize) -> &'a [*const T] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts(ptr, len) }
}
