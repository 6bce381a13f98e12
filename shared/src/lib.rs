//! autobill's library. Layers depend one way only:
//! `domain` (pure) ← `ports` (traits) ← `adapters` (AWS) and `render` (documents) ← `service` ← `http`.

pub mod domain;
pub mod render;
