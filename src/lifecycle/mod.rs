//! Lifecycle policies: ECR's rules for expiring (and archiving) images.
//!
//! * [`policy`] — the policy text: parsing and ECR's validation messages.
//! * [`evaluate`] — the pure evaluator (images + policy + now → decisions), shared by previews and
//!   real runs, so a preview always equals what a run would do.
//! * [`runner`] — applying decisions through the core's delete path, cleaning up referrers whose
//!   subject is gone, previews, and the periodic scheduler.

pub mod evaluate;
pub mod policy;
pub mod runner;
