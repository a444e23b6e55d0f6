//! Desired vs running specialists → actions (filled in next commit).
