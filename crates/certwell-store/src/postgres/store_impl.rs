//! [`Store`] for [`PgStore`] (see [`delegate_store!`]).

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::changes::ChangeFeed;
use crate::records::*;
use crate::{Result, Store};

delegate_store!(PgStore);
