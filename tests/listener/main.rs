//! The listener, one module per behaviour, linked into one test binary: real loopback
//! sockets, holders in child processes, socket activation through a launcher of our own.
//!
//! Child processes are this binary again, running only [`helper_entry`] with the role in
//! `PROMSTATIC_LISTENER_HELPER` (see `listener_support::helper_command`). Two tests keep a
//! binary of their own, because a concurrent test would disturb what they observe:
//! `listener_drop.rs` counts this process's retry threads, and `listener_inherited.rs` makes a
//! socket inheritable for a moment.

#![cfg(target_os = "linux")]

#[path = "../listener_support/mod.rs"]
mod listener_support;

mod activation;
#[cfg(feature = "exporter")]
mod application_socket;
mod bind;
mod bound_only;
mod errors;
mod holders;
#[cfg(feature = "exporter")]
mod host_checks;

/// The child side of the tests that spawn this binary: a no-op in the test run itself (no
/// role is set), otherwise the module owning the role runs it. Each module's entry returns
/// at once for a role that is not its own; the roles are distinct, except `hold`, which is
/// the same shared `listener_support::hold_role` wherever it is handled.
#[test]
fn helper_entry() {
    activation::helper_entry();
    #[cfg(feature = "exporter")]
    application_socket::helper_entry();
    bind::helper_entry();
    bound_only::helper_entry();
    errors::helper_entry();
    holders::helper_entry();
}
