//! leadgate-store (being written).
