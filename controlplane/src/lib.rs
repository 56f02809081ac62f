//! vrouter control plane (protocols, RIB, FIB builder) — see DESIGN.md.
