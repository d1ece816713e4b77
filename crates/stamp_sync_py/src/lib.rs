//! The Python module `stamp_sync._native`, behind the package `stamp_sync`
//! (python/): the policies, the synchronizer core that
//! `stamp_sync.message_filters` drives, and the offline API. Thin: the
//! policies are the core crate's.

mod offline;
mod policy;
mod stamp;
mod sync;

use pyo3::prelude::*;

/// `stamp_ns(stamp)`: the nanoseconds of a stamp object.
#[pyfunction]
fn stamp_ns(stamp: &Bound<'_, PyAny>) -> PyResult<i64> {
    stamp::stamp_ns(stamp)
}

/// `header_stamp_ns(msg)`: the nanoseconds of `msg.header.stamp`, or `None`
/// for a message without a header.
#[pyfunction]
fn header_stamp_ns(msg: &Bound<'_, PyAny>) -> PyResult<Option<i64>> {
    Ok(stamp::header_stamp(msg)?.map(|s| s.as_nanos()))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<policy::ApproximateTime>()?;
    m.add_class::<policy::ExactTime>()?;
    m.add_class::<policy::ApproximateEpsilonTime>()?;
    m.add_class::<policy::LatestTime>()?;
    m.add_class::<policy::Slop>()?;
    m.add_class::<sync::SimpleFilter>()?;
    m.add_class::<sync::Core>()?;
    m.add_class::<sync::Input>()?;
    m.add_function(wrap_pyfunction!(offline::match_trace, m)?)?;
    m.add_function(wrap_pyfunction!(offline::bag_stamps, m)?)?;
    m.add_function(wrap_pyfunction!(stamp_ns, m)?)?;
    m.add_function(wrap_pyfunction!(header_stamp_ns, m)?)?;
    Ok(())
}
