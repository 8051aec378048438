//! leadgate-server (being written).
