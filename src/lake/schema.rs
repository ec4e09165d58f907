//! The lake as a DataFusion schema whose tables open when a query first names them.
//!
//! Opening a Delta table replays its log to the pinned version and lists its files;
//! registering all of them up front made every one-shot `ako query` pay for tables its
//! SQL never reads. Here each table opens once per session, on first use, and a
//! session (one per lake version in the server) keeps what it opened.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::runtime_env::RuntimeEnv;
use tokio::sync::OnceCell;

use super::{Lake, Snapshot};

/// One lake table as SQL names it.
#[derive(Debug)]
struct Entry {
    /// Folder under the lake (`reference/organisations`).
    path: String,
    /// Today's columns; older versions read with them (a missing column is nulls).
    schema: SchemaRef,
    opened: OnceCell<Arc<dyn TableProvider>>,
}

/// The `public` schema of a lake session: the lake's tables at a snapshot's versions,
/// opened lazily, and any table the caller registers (derived tables such as
/// `peer_groups`).
#[derive(Debug)]
pub struct LakeSchema {
    lake: Lake,
    snapshot: Snapshot,
    /// The session's runtime, where delta-rs registers each table's object store. Held
    /// rather than the session state, which owns this schema (a cycle).
    runtime: Arc<RuntimeEnv>,
    tables: HashMap<String, Entry>,
    registered: RwLock<HashMap<String, Arc<dyn TableProvider>>>,
}

impl LakeSchema {
    /// `tables`: (SQL name, folder, today's schema) of every lake table.
    pub(super) fn new(
        lake: Lake,
        snapshot: Snapshot,
        runtime: Arc<RuntimeEnv>,
        tables: Vec<(String, String, SchemaRef)>,
    ) -> LakeSchema {
        let tables = tables
            .into_iter()
            .map(|(name, path, schema)| {
                let entry = Entry {
                    path,
                    schema,
                    opened: OnceCell::new(),
                };
                (name, entry)
            })
            .collect();
        LakeSchema {
            lake,
            snapshot,
            runtime,
            tables,
            registered: RwLock::new(HashMap::new()),
        }
    }

    async fn open(&self, entry: &Entry) -> Result<Arc<dyn TableProvider>> {
        let lake_err = |e: super::LakeError| DataFusionError::External(Box::new(e));
        match self.snapshot.tables.get(&entry.path) {
            Some(&version) => {
                let table = self
                    .lake
                    .at_version(&entry.path, version)
                    .await
                    .map_err(lake_err)?;
                super::provider_as_now(&self.runtime, &entry.path, &table, &entry.schema)
                    .await
                    .map_err(lake_err)
            }
            // Never written: empty, so every query in `queries/` still plans.
            None => Ok(Arc::new(MemTable::try_new(
                entry.schema.clone(),
                vec![vec![]],
            )?)),
        }
    }
}

#[async_trait]
impl SchemaProvider for LakeSchema {
    fn table_names(&self) -> Vec<String> {
        let registered = self.registered.read().expect("not poisoned");
        let mut names: Vec<String> = self
            .tables
            .keys()
            .chain(registered.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if let Some(t) = self.registered.read().expect("not poisoned").get(name) {
            return Ok(Some(t.clone()));
        }
        let Some(entry) = self.tables.get(name) else {
            return Ok(None);
        };
        let provider = entry.opened.get_or_try_init(|| self.open(entry)).await?;
        Ok(Some(provider.clone()))
    }

    fn register_table(
        &self,
        name: String,
        table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        if self.tables.contains_key(&name) {
            return Err(DataFusionError::Plan(format!(
                "`{name}` is a lake table; a derived table needs a name of its own"
            )));
        }
        let mut registered = self.registered.write().expect("not poisoned");
        Ok(registered.insert(name, table))
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Ok(self.registered.write().expect("not poisoned").remove(name))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.tables.contains_key(name)
            || self
                .registered
                .read()
                .expect("not poisoned")
                .contains_key(name)
    }
}
