//! leadgate-model (being written).
