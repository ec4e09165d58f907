-- title: Hours in seclusion and how long seclusions last
-- description: Per organisation and period: seclusion episodes, those ended, total hours
-- description: in seclusion, and the median and 90th percentile of an episode's hours
-- description: (ended episodes; the 90th percentile by t-digest, exact for small counts).
-- description: A table of several measures, so no single interval.
-- unit: hours
-- param: org text default '' -- organisation code; empty for every organisation
-- param: grain text default month in month|quarter|year|financial_year -- length of a period (a financial year runs July to June: 2024/25)
SELECT org_code,
       CASE $grain
           WHEN 'quarter' THEN substr(month, 1, 4) || '-Q'
               || CAST((CAST(substr(month, 6, 2) AS INT) + 2) / 3 AS VARCHAR)
           WHEN 'year' THEN substr(month, 1, 4)
           WHEN 'financial_year' THEN
               CASE WHEN CAST(substr(month, 6, 2) AS INT) >= 7
                    THEN substr(month, 1, 4) || '/'
                         || lpad(CAST((CAST(substr(month, 1, 4) AS INT) + 1) % 100 AS VARCHAR), 2, '0')
                    ELSE CAST(CAST(substr(month, 1, 4) AS INT) - 1 AS VARCHAR) || '/' || substr(month, 3, 2)
               END
           ELSE month
       END AS period,
       count(*) AS episodes,
       count(end_time) AS ended,
       round(sum(CAST(CAST(end_time AS BIGINT) - CAST(start_time AS BIGINT) AS DOUBLE)) / 3600000000.0, 2) AS hours,
       round(median(CAST(CAST(end_time AS BIGINT) - CAST(start_time AS BIGINT) AS DOUBLE) / 3600000000.0), 2) AS median_hours,
       round(approx_percentile_cont(CAST(CAST(end_time AS BIGINT) - CAST(start_time AS BIGINT) AS DOUBLE) / 3600000000.0, 0.9), 2) AS p90_hours
FROM episodes
WHERE practice = 'seclusion' AND ($org = '' OR org_code = $org)
GROUP BY 1, 2
ORDER BY 1, 2
