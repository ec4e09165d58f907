//! A lake written before Indigenous status existed (episodes with a required
//! `ethnicity` and no `indigenous_status`; reference tables likewise) takes new extracts
//! and reference files: their tables' schemas grow the new nullable column, and what was
//! stored reads as before.

use std::sync::Arc;

use ako::lake::{self, WriteInput, WriteMode};
use ako::model;
use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};

use crate::fixture::{AU_HEADER, Fixture, cells, row};

/// A schema as it was: `schema` without the `indigenous_status` column and with
/// `ethnicity` required.
fn as_it_was(schema: &Schema) -> Arc<Schema> {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .filter(|f| f.name() != model::col::INDIGENOUS_STATUS)
            .map(|f| {
                if f.name() == model::col::ETHNICITY {
                    Field::new(f.name(), DataType::Utf8, false)
                } else {
                    f.as_ref().clone()
                }
            })
            .collect::<Vec<_>>(),
    ))
}

fn strings(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

/// One February 2024 episode of TST, in the old episode schema.
fn old_episode() -> RecordBatch {
    let schema = as_it_was(&model::episode_schema());
    let micros = 1_707_000_000_000_000i64; // 2024-02-03T22:40:00Z
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            match f.name().as_str() {
                "start_time" => {
                    Arc::new(TimestampMicrosecondArray::from(vec![micros]).with_timezone("UTC"))
                }
                "end_time" => Arc::new(
                    TimestampMicrosecondArray::from(vec![micros + 3_600_000_000])
                        .with_timezone("UTC"),
                ),
                "minor" | "emergency" => Arc::new(BooleanArray::from(vec![false])),
                "max_obs_gap_min" => Arc::new(Int32Array::from(vec![15])),
                name => strings(&[match name {
                    "org_code" => "TST",
                    "episode_id" => "OLD1",
                    "person_key" => "P0",
                    "unit_code" => "TST-W1",
                    "setting" => "adult_inpatient",
                    "practice" => "seclusion",
                    "age_band" => "30-34",
                    "sex" => "male",
                    "ethnicity" => "maori",
                    "legal_status" => "mha_s30",
                    "authorised_by" => "authorised_doctor",
                    "reason" => "harm_to_others",
                    "jurisdiction" => "NZ",
                    "extract_id" => "old-extract",
                    "month" => "2024-02",
                    other => panic!("an episode column {other}"),
                }]),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}

/// The manifest row that pins `table` at `version`.
fn manifest_row(id: &str, table: &str, version: i64) -> RecordBatch {
    let schema = model::extract_schema();
    let text = |v: Option<&str>| -> ArrayRef { Arc::new(StringArray::from(vec![v])) };
    let int = |v: i64| -> ArrayRef { Arc::new(Int64Array::from(vec![v])) };
    let columns = vec![
        text(Some(id)),
        text(Some("old/TST_2024-02.csv")),
        text(Some("extract")),
        text(Some("TST")),
        text(Some("canonical")),
        text(Some("2024-02")),
        text(Some("2024-02")),
        int(1),
        int(1),
        int(0),
        Arc::new(
            TimestampMicrosecondArray::from(vec![1_707_100_000_000_000i64]).with_timezone("UTC"),
        ),
        text(Some(table)),
        int(version),
        Arc::new(Int64Array::from(vec![None::<i64>])),
    ];
    RecordBatch::try_new(schema, columns).unwrap()
}

#[tokio::test]
async fn a_lake_from_before_indigenous_status_takes_new_extracts_and_reads_as_before() {
    let f = Fixture::new();
    let lake = f.lake();
    let version = lake
        .write(
            lake::EPISODES,
            WriteInput::Batches(vec![old_episode()]),
            WriteMode::Append,
            &[model::col::ORG_CODE],
        )
        .await
        .expect("an old episodes table");
    lake.write(
        lake::MANIFEST,
        WriteInput::Batches(vec![manifest_row("old-extract", lake::EPISODES, version)]),
        WriteMode::Append,
        &[],
    )
    .await
    .expect("its manifest row");
    // An old population table: ethnicity required, no Indigenous status.
    let population = as_it_was(&model::ReferenceTable::Population.schema());
    let old_population = RecordBatch::try_new(
        population,
        vec![
            strings(&["TST"]),
            Arc::new(Int64Array::from(vec![2024])),
            strings(&["30-34"]),
            strings(&["male"]),
            strings(&["maori"]),
            Arc::new(Int64Array::from(vec![900])),
        ],
    )
    .unwrap();
    let version = lake
        .write(
            "reference/population",
            WriteInput::Batches(vec![old_population]),
            WriteMode::Append,
            &[],
        )
        .await
        .expect("an old population table");
    lake.write(
        lake::MANIFEST,
        WriteInput::Batches(vec![manifest_row(
            "old-population",
            "reference/population",
            version,
        )]),
        WriteMode::Append,
        &[],
    )
    .await
    .expect("its manifest row");
    f.write(
        "in/reference/population.csv",
        "org_code,year,age_band,sex,ethnicity,indigenous_status,population\n\
         TST,2024,30-34,male,maori,,1000\n\
         QTS,2024,30-34,male,,aboriginal,600\n",
    );
    // Reference tables in today's files (organisations, activity, submissions) replace
    // whatever was there; then a New Zealand and a Queensland extract.
    let before = f.snapshot(None).await.lake_version.expect("a version");
    for report in f.ingest_reference().await {
        assert_eq!(report.error, None, "{report:?}");
    }
    let nz = f.canonical(
        "in/TST/TST_2024-03.csv",
        &[row(
            "E1",
            "P1",
            "seclusion",
            "2024-03-05T10:00:00+13:00",
            "2024-03-05T11:00:00+13:00",
            "european",
        )],
    );
    let au = f.write(
        "in/QTS/QTS_2024-03.csv",
        &format!(
            "{AU_HEADER}\nQTS,A1,Q1,QTS-W1,adult_inpatient,seclusion,2024-03-04T10:00:00+10:00,2024-03-04T11:00:00+10:00,30-34,false,male,aboriginal,qld_treatment_authority,authorised_doctor,false,15,harm_to_others\n"
        ),
    );
    for report in f.ingest(&[&nz, &au]).await {
        assert_eq!(
            (report.rows_accepted, report.error.as_deref()),
            (1, None),
            "{report:?}"
        );
    }
    let rows = cells(
        &f.sql(
            "SELECT episode_id, ethnicity, indigenous_status FROM episodes ORDER BY episode_id",
            None,
        )
        .await,
    );
    assert_eq!(
        rows,
        [
            ["A1", "", "aboriginal"],
            ["E1", "european", ""],
            ["OLD1", "maori", ""]
        ]
    );
    let population = cells(
        &f.sql(
            "SELECT org_code, ethnicity, indigenous_status, population FROM population ORDER BY org_code",
            None,
        )
        .await,
    );
    assert_eq!(
        population,
        [
            ["QTS", "", "aboriginal", "600"],
            ["TST", "maori", "", "1000"]
        ]
    );
    // The version from before reads as it was, with today's columns (a session may have
    // pinned it): the new column is empty there and every indicator plans.
    let then = cells(
        &f.sql(
            "SELECT episode_id, ethnicity, indigenous_status FROM episodes",
            Some(ako::lake::AsOf::Version(before)),
        )
        .await,
    );
    assert_eq!(then, [["OLD1", "maori", ""]]);
    let at = before.to_string();
    for indicator in [
        "indigenous_rate_ratio",
        "maori_rate_ratio",
        "people_secluded_dsr",
    ] {
        let out = f.cli_query(&[indicator, "--as-of", &at, "--format", "json"]);
        assert!(
            out.status.success(),
            "{indicator}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
