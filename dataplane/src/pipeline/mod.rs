//! The run-to-completion forwarding pipeline.
