//! Accounts, containers, custom order fields (account metadata), users and API keys.

#![allow(unused_variables)]

use serde_json::Value;
use time::OffsetDateTime;

use super::PgStore;
use crate::records::*;
use crate::Result;

impl PgStore {
    pub(crate) async fn create_account(
        &self,
        name: &str,
        settings: &AccountSettings,
        admin: &NewUser,
    ) -> Result<(Account, User)> {
        todo!("postgres: create_account")
    }

    pub(crate) async fn get_account(&self, id: i64) -> Result<Option<Account>> {
        todo!("postgres: get_account")
    }

    pub(crate) async fn list_accounts(&self) -> Result<Vec<Account>> {
        todo!("postgres: list_accounts")
    }

    pub(crate) async fn update_account_settings(
        &self,
        id: i64,
        settings: &AccountSettings,
    ) -> Result<()> {
        todo!("postgres: update_account_settings")
    }

    pub(crate) async fn get_container(
        &self,
        account_id: i64,
        id: i64,
    ) -> Result<Option<Container>> {
        todo!("postgres: get_container")
    }

    pub(crate) async fn list_containers(&self, account_id: i64) -> Result<Vec<Container>> {
        todo!("postgres: list_containers")
    }

    pub(crate) async fn create_container(
        &self,
        account_id: i64,
        parent_id: i64,
        name: &str,
        description: &str,
    ) -> Result<i64> {
        todo!("postgres: create_container")
    }

    pub(crate) async fn list_metadata(&self, account_id: i64) -> Result<Vec<MetadataField>> {
        todo!("postgres: list_metadata")
    }

    pub(crate) async fn create_metadata(
        &self,
        account_id: i64,
        f: &NewMetadataField,
    ) -> Result<i64> {
        todo!("postgres: create_metadata")
    }

    pub(crate) async fn update_metadata(
        &self,
        account_id: i64,
        id: i64,
        f: &NewMetadataField,
    ) -> Result<()> {
        todo!("postgres: update_metadata")
    }

    pub(crate) async fn delete_metadata(&self, account_id: i64, id: i64) -> Result<()> {
        todo!("postgres: delete_metadata")
    }

    pub(crate) async fn create_user(&self, account_id: i64, u: &NewUser) -> Result<User> {
        todo!("postgres: create_user")
    }

    pub(crate) async fn get_user(&self, account_id: i64, id: i64) -> Result<Option<User>> {
        todo!("postgres: get_user")
    }

    pub(crate) async fn list_users(&self, account_id: i64) -> Result<Vec<User>> {
        todo!("postgres: list_users")
    }

    pub(crate) async fn update_user_contact(
        &self,
        account_id: i64,
        id: i64,
        c: &UserContactUpdate,
    ) -> Result<()> {
        todo!("postgres: update_user_contact")
    }

    pub(crate) async fn first_admin(&self, account_id: i64) -> Result<Option<User>> {
        todo!("postgres: first_admin")
    }

    pub(crate) async fn create_api_key(&self, key: &NewApiKey) -> Result<i64> {
        todo!("postgres: create_api_key")
    }

    pub(crate) async fn find_api_key(&self, key_hash: &str) -> Result<Option<ApiKey>> {
        todo!("postgres: find_api_key")
    }
}
