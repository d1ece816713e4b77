//! Finding a message type's support at run time, as `ros2 bag` and
//! `topic_tools` do: the package's prefix from the ament index on
//! `AMENT_PREFIX_PATH`, then `<prefix>/lib/lib<pkg>__rosidl_typesupport_c.so`
//! and its `rosidl_typesupport_c__get_message_type_support_handle__<pkg>__msg__<Type>`
//! symbol. Types r2r compiled in are taken from r2r's table first.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use super::ffi::{self, SymbolError, TypeSupportHandle};
use stamp_sync_wire::schema::{DefinitionFormat, first_field_is_header};

/// A message type name, `package/msg/Type`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TypeName {
    package: String,
    name: String,
}

impl TypeName {
    /// Parses `package/msg/Type` (as the graph reports types) or
    /// `package/Type`. Package and type must be ROS identifiers
    /// (ASCII letters, digits, `_`), so a name never escapes its prefix
    /// as a path.
    pub fn parse(full: &str) -> Result<TypeName, TypeSupportError> {
        let bad = |reason: &'static str| TypeSupportError::BadTypeName {
            name: full.to_string(),
            reason,
        };
        let parts: Vec<&str> = full.split('/').collect();
        let (package, name) = match parts.as_slice() {
            [p, "msg", t] | [p, t] => (*p, *t),
            [_, kind, _] => {
                return Err(bad(if matches!(*kind, "srv" | "action") {
                    "only messages (msg) are supported"
                } else {
                    "the middle part must be `msg`"
                }));
            }
            _ => return Err(bad("expected package/msg/Type")),
        };
        let ident = |s: &str| {
            !s.is_empty()
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        };
        if !ident(package) {
            return Err(bad("the package is not a ROS identifier"));
        }
        if !ident(name) {
            return Err(bad("the type is not a ROS identifier"));
        }
        Ok(TypeName {
            package: package.to_string(),
            name: name.to_string(),
        })
    }

    /// The interface package, e.g. `sensor_msgs`.
    pub fn package(&self) -> &str {
        &self.package
    }

    /// The type within the package, e.g. `Image`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The C type support library's file name.
    pub fn library_file(&self) -> String {
        format!("lib{}__rosidl_typesupport_c.so", self.package)
    }

    /// The C type support symbol.
    pub fn symbol(&self) -> String {
        format!(
            "rosidl_typesupport_c__get_message_type_support_handle__{}__msg__{}",
            self.package, self.name
        )
    }
}

impl fmt::Display for TypeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/msg/{}", self.package, self.name)
    }
}

/// Why a type's support or definition could not be found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TypeSupportError {
    /// The name is not `package/msg/Type`.
    #[error("bad message type name {name:?}: {reason}")]
    BadTypeName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No prefix on the search path has the package in its ament index.
    #[error(
        "{type_name}: package {package:?} is not installed: no \
         share/ament_index/resource_index/packages/{package} in {} (AMENT_PREFIX_PATH); \
         source the workspace that provides it",
        display_paths(.prefixes)
    )]
    PackageNotInstalled {
        /// The type asked for.
        type_name: String,
        /// Its package.
        package: String,
        /// The prefixes searched, in order.
        prefixes: Vec<PathBuf>,
    },
    /// The package is in the index but its C type support library is not.
    #[error("{type_name}: package {package:?} is installed in {} but has no {}", .prefix.display(), .path.display())]
    LibraryMissing {
        /// The type asked for.
        type_name: String,
        /// Its package.
        package: String,
        /// The prefix that has the package.
        prefix: PathBuf,
        /// The library looked for.
        path: PathBuf,
    },
    /// The dynamic loader refused the library.
    #[error("{type_name}: cannot load {}: {message}", .path.display())]
    LibraryLoad {
        /// The type asked for.
        type_name: String,
        /// The library.
        path: PathBuf,
        /// The loader's message (`dlerror`).
        message: String,
    },
    /// The library has no type support symbol for this type.
    #[error("{type_name}: {} has no symbol {symbol} (no such message in the package?): {message}", .path.display())]
    MissingSymbol {
        /// The type asked for.
        type_name: String,
        /// The library.
        path: PathBuf,
        /// The symbol looked for.
        symbol: String,
        /// The loader's message.
        message: String,
    },
    /// The symbol returned a null handle.
    #[error("{type_name}: {symbol} returned no type support")]
    NullHandle {
        /// The type asked for.
        type_name: String,
        /// The symbol called.
        symbol: String,
    },
    /// The message definition (`.msg` or `.idl`) could not be read.
    #[error("{type_name}: no readable definition {} (or .idl): {source}", .path.display())]
    Definition {
        /// The type asked for.
        type_name: String,
        /// The `.msg` file looked for.
        path: PathBuf,
        /// Why it could not be read.
        source: std::io::Error,
    },
}

fn display_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no prefix (AMENT_PREFIX_PATH is empty)".to_string();
    }
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(":")
}

/// Where a type's support came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// r2r's table, compiled into this binary.
    Compiled,
    /// A library found through the ament index.
    Library(PathBuf),
}

/// A message type's C type support, ready to create subscriptions and
/// publishers with. Cheap to clone; keeps its library loaded.
#[derive(Clone)]
pub struct TypeSupport {
    name: TypeName,
    pub(super) handle: TypeSupportHandle,
    source: Source,
}

impl fmt::Debug for TypeSupport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeSupport")
            .field("name", &self.name.to_string())
            .field("source", &self.source)
            .finish()
    }
}

impl TypeSupport {
    /// The type's name.
    pub fn name(&self) -> &TypeName {
        &self.name
    }

    /// Where it came from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Does `other` use the very same type support handle (the same symbol
    /// of the same loaded library)?
    pub fn same_handle(&self, other: &TypeSupport) -> bool {
        self.handle.same(&other.handle)
    }
}

#[derive(Default)]
struct Cache {
    types: HashMap<TypeName, TypeSupport>,
    libraries: HashMap<PathBuf, Arc<libloading::Library>>,
    headers: HashMap<TypeName, bool>,
}

/// Finds type support and definitions for types named at run time. Caches
/// per type and per library; clones share the cache.
#[derive(Clone)]
pub struct TypeSupportLoader {
    prefixes: Arc<[PathBuf]>,
    compiled: bool,
    cache: Arc<Mutex<Cache>>,
}

impl fmt::Debug for TypeSupportLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeSupportLoader")
            .field("prefixes", &self.prefixes)
            .field("compiled", &self.compiled)
            .finish()
    }
}

impl TypeSupportLoader {
    /// Searches the prefixes of `AMENT_PREFIX_PATH`, in order.
    pub fn from_env() -> TypeSupportLoader {
        let path = std::env::var_os("AMENT_PREFIX_PATH").unwrap_or_default();
        TypeSupportLoader::new(std::env::split_paths(&path).filter(|p| !p.as_os_str().is_empty()))
    }

    /// Searches `prefixes`, in order.
    pub fn new(prefixes: impl IntoIterator<Item = PathBuf>) -> TypeSupportLoader {
        TypeSupportLoader {
            prefixes: prefixes.into_iter().collect(),
            compiled: true,
            cache: Arc::default(),
        }
    }

    /// Whether to look in r2r's compiled-in table before the ament index
    /// (default: yes; the handle is the same, found without touching the
    /// file system).
    pub fn use_compiled(mut self, yes: bool) -> TypeSupportLoader {
        self.compiled = yes;
        self.cache = Arc::default();
        self
    }

    /// The prefixes searched, in order.
    pub fn prefixes(&self) -> &[PathBuf] {
        &self.prefixes
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first prefix whose ament index lists `package`.
    pub fn package_prefix(&self, ty: &TypeName) -> Result<&Path, TypeSupportError> {
        self.prefixes
            .iter()
            .find(|p| {
                p.join("share/ament_index/resource_index/packages")
                    .join(ty.package())
                    .is_file()
            })
            .map(PathBuf::as_path)
            .ok_or_else(|| TypeSupportError::PackageNotInstalled {
                type_name: ty.to_string(),
                package: ty.package().to_string(),
                prefixes: self.prefixes.to_vec(),
            })
    }

    /// The type support of `type_name` (`package/msg/Type`).
    pub fn load(&self, type_name: &str) -> Result<TypeSupport, TypeSupportError> {
        let ty = TypeName::parse(type_name)?;
        if let Some(ts) = self.cache().types.get(&ty) {
            return Ok(ts.clone());
        }
        let ts = match self.compiled.then(|| compiled(&ty)).flatten() {
            Some(ts) => ts,
            None => self.load_library(&ty)?,
        };
        self.cache().types.insert(ty, ts.clone());
        Ok(ts)
    }

    fn load_library(&self, ty: &TypeName) -> Result<TypeSupport, TypeSupportError> {
        let prefix = self.package_prefix(ty)?;
        let path = prefix.join("lib").join(ty.library_file());
        if !path.is_file() {
            return Err(TypeSupportError::LibraryMissing {
                type_name: ty.to_string(),
                package: ty.package().to_string(),
                prefix: prefix.to_path_buf(),
                path,
            });
        }
        let cached = self.cache().libraries.get(&path).cloned();
        let library = match cached {
            Some(l) => l,
            None => {
                let l =
                    ffi::load_library(&path).map_err(|message| TypeSupportError::LibraryLoad {
                        type_name: ty.to_string(),
                        path: path.clone(),
                        message,
                    })?;
                self.cache().libraries.insert(path.clone(), l.clone());
                l
            }
        };
        let symbol = ty.symbol();
        let handle = ffi::message_type_support(&library, &symbol).map_err(|e| match e {
            SymbolError::Missing(message) => TypeSupportError::MissingSymbol {
                type_name: ty.to_string(),
                path: path.clone(),
                symbol: symbol.clone(),
                message,
            },
            SymbolError::Null => TypeSupportError::NullHandle {
                type_name: ty.to_string(),
                symbol: symbol.clone(),
            },
        })?;
        Ok(TypeSupport {
            name: ty.clone(),
            handle,
            source: Source::Library(path),
        })
    }

    /// Does `type_name` start with a `std_msgs/Header`? Read from its
    /// definition in its package's prefix: `share/<pkg>/msg/<Type>.msg`, or
    /// the `.idl` next to it (the same check bag replay makes on stored
    /// definitions).
    pub fn has_header(&self, type_name: &str) -> Result<bool, TypeSupportError> {
        let ty = TypeName::parse(type_name)?;
        if let Some(&h) = self.cache().headers.get(&ty) {
            return Ok(h);
        }
        let dir = self
            .package_prefix(&ty)?
            .join("share")
            .join(ty.package())
            .join("msg");
        let msg = dir.join(format!("{}.msg", ty.name()));
        let full = ty.to_string();
        let header = match std::fs::read_to_string(&msg) {
            Ok(text) => first_field_is_header(&text, DefinitionFormat::Ros2Msg, &full),
            Err(msg_err) => match std::fs::read_to_string(dir.join(format!("{}.idl", ty.name()))) {
                Ok(text) => first_field_is_header(&text, DefinitionFormat::Ros2Idl, &full),
                Err(_) => {
                    return Err(TypeSupportError::Definition {
                        type_name: full,
                        path: msg,
                        source: msg_err,
                    });
                }
            },
        };
        self.cache().headers.insert(ty, header);
        Ok(header)
    }
}

/// r2r's compiled-in type support for `ty`, if r2r generated it.
fn compiled(ty: &TypeName) -> Option<TypeSupport> {
    let native = ::r2r::WrappedNativeMsgUntyped::new_from(&ty.to_string()).ok()?;
    Some(TypeSupport {
        name: ty.clone(),
        handle: TypeSupportHandle::from_static(native.ts),
        source: Source::Compiled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        let t = TypeName::parse("sensor_msgs/msg/Image").unwrap();
        assert_eq!((t.package(), t.name()), ("sensor_msgs", "Image"));
        assert_eq!(t.to_string(), "sensor_msgs/msg/Image");
        assert_eq!(TypeName::parse("std_msgs/Header").unwrap().name(), "Header");
        assert_eq!(t.library_file(), "libsensor_msgs__rosidl_typesupport_c.so");
        assert_eq!(
            t.symbol(),
            "rosidl_typesupport_c__get_message_type_support_handle__sensor_msgs__msg__Image"
        );
        for bad in [
            "",
            "Image",
            "a/b/c/d",
            "../x/msg/T",
            "pkg/msg/",
            "pkg/srv/T",
            "pkg/foo/T",
            "pkg/msg/T.so",
            "pkg/msg/T ",
            "1pkg/msg/T",
        ] {
            assert!(
                matches!(
                    TypeName::parse(bad),
                    Err(TypeSupportError::BadTypeName { .. })
                ),
                "{bad:?} accepted"
            );
        }
        let e = TypeName::parse("pkg/srv/T").unwrap_err().to_string();
        assert!(e.contains("only messages"), "{e}");
    }

    #[test]
    fn not_installed_names_package_and_prefixes() {
        let loader =
            TypeSupportLoader::new([PathBuf::from("/nowhere/a"), PathBuf::from("/nowhere/b")]);
        let e = loader.load("no_such_pkg/msg/T").unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, TypeSupportError::PackageNotInstalled { .. }),
            "{e:?}"
        );
        assert!(text.contains("\"no_such_pkg\""), "{text}");
        assert!(text.contains("/nowhere/a:/nowhere/b"), "{text}");
        let empty = TypeSupportLoader::new([])
            .load("p/msg/T")
            .unwrap_err()
            .to_string();
        assert!(empty.contains("AMENT_PREFIX_PATH is empty"), "{empty}");
    }
}
