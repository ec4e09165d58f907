//! The shape of `ako stats` output (**contract**): ordered JSON objects, and the same rows
//! as CSV. Keys keep the order they were written in, so the CSV columns and the JSON read
//! alike.

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// A JSON value whose objects keep their key order.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Value(Value),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

impl Node {
    pub fn object() -> Node {
        Node::Object(Vec::new())
    }

    /// Adds a field (builder style).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Node>) -> Node {
        self.push(key, value);
        self
    }

    pub fn push(&mut self, key: impl Into<String>, value: impl Into<Node>) {
        if let Node::Object(fields) = self {
            fields.push((key.into(), value.into()));
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The plain JSON value (key order is lost in `serde_json::Map`; use for reading).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).expect("a Node always serialises")
    }
}

impl From<Value> for Node {
    fn from(v: Value) -> Node {
        Node::Value(v)
    }
}

impl From<Option<f64>> for Node {
    fn from(v: Option<f64>) -> Node {
        Node::Value(match v.and_then(serde_json::Number::from_f64) {
            Some(n) => Value::Number(n),
            None => Value::Null,
        })
    }
}

impl From<f64> for Node {
    fn from(v: f64) -> Node {
        Some(v).into()
    }
}

impl From<bool> for Node {
    fn from(v: bool) -> Node {
        Node::Value(Value::Bool(v))
    }
}

impl From<&str> for Node {
    fn from(v: &str) -> Node {
        Node::Value(Value::String(v.to_string()))
    }
}

impl From<Option<&str>> for Node {
    fn from(v: Option<&str>) -> Node {
        Node::Value(v.map_or(Value::Null, |s| Value::String(s.to_string())))
    }
}

impl From<Option<usize>> for Node {
    fn from(v: Option<usize>) -> Node {
        Node::Value(v.map_or(Value::Null, |n| Value::from(n as u64)))
    }
}

impl From<usize> for Node {
    fn from(v: usize) -> Node {
        Node::Value(Value::from(v as u64))
    }
}

impl From<Option<bool>> for Node {
    fn from(v: Option<bool>) -> Node {
        Node::Value(v.map_or(Value::Null, Value::Bool))
    }
}

impl From<Vec<Node>> for Node {
    fn from(v: Vec<Node>) -> Node {
        Node::Array(v)
    }
}

impl Serialize for Node {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Value(v) => v.serialize(s),
            Node::Object(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

/// A method's result: the whole report (JSON) and which array holds its rows (CSV).
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub body: Node,
    pub rows_key: &'static str,
}

impl Report {
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(&self.body).expect("a Node always serialises")
    }

    /// The rows as CSV: one column per field of the first row; empty cells for nulls.
    pub fn csv(&self) -> String {
        let rows = match self.body.get(self.rows_key) {
            Some(Node::Array(rows)) => rows.as_slice(),
            _ => &[],
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        let columns: Vec<&str> = match rows.first() {
            Some(Node::Object(fields)) => fields.iter().map(|(k, _)| k.as_str()).collect(),
            _ => Vec::new(),
        };
        w.write_record(&columns).expect("writing to memory");
        for row in rows {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| match row.get(c) {
                    Some(Node::Value(Value::Null)) | None => String::new(),
                    Some(Node::Value(Value::String(s))) => s.clone(),
                    Some(Node::Value(v)) => v.to_string(),
                    Some(other) => serde_json::to_string(other).expect("serialises"),
                })
                .collect();
            w.write_record(&cells).expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("flush to memory")).expect("utf-8 in, utf-8 out")
    }
}
