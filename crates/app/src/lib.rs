//! leadgate-app (being written).
