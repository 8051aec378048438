//! leadgate-core (being written).
