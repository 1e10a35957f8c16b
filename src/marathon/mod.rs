//! Marathon: the API client, the app model, site files in lighter's format, and deploying
//! them — what the course's marathon-submit helper container did, built into lab.

pub mod site;
pub mod yaml;
