-- title: Rejected rows by organisation, file and reason
-- description: Rows refused at ingest (and kept in the rejections table with their line,
-- description: column and reason), counted per organisation, file and reason, with the
-- description: share of the file's rows they were. For the organisation to correct and
-- description: re-send.
-- unit: rows
-- param: org text default '' -- organisation code; empty for every organisation
SELECT r.org_code,
       r.file,
       r.reason,
       count(*) AS rows_rejected,
       min(m.rows_read) AS rows_read,
       round(100.0 * CAST(count(*) AS DOUBLE) / CAST(min(m.rows_read) AS DOUBLE), 2) AS pct_of_file
FROM rejections r
JOIN extracts m ON m.extract_id = r.extract_id
WHERE ($org = '' OR r.org_code = $org)
GROUP BY r.org_code, r.file, r.reason
ORDER BY r.org_code, r.file, r.reason
