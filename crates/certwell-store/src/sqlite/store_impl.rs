//! [`Store`] for [`SqliteStore`] (see [`delegate_store!`]).

use serde_json::Value;
use time::OffsetDateTime;

use super::SqliteStore;
use crate::changes::ChangeFeed;
use crate::records::*;
use crate::{Result, Store};

delegate_store!(SqliteStore);
