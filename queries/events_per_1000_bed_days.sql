-- title: Events per 1,000 bed days
-- description: AIHW definition: episodes of a practice starting in the period divided
-- description: by occupied bed days in the period (all settings and ethnic groups of
-- description: inpatient_activity), times 1,000; with 95% Poisson limits. Per
-- description: organisation, per peer group or nationally (one row per jurisdiction:
-- description: NZ, and each Australian state), by month, quarter, calendar or financial year. An
-- description: organisation's period with a month whose extract never arrived has no
-- description: count; a peer group or the nation pools only the months that arrived.
-- unit: events per 1,000 bed days
-- ci: poisson
-- multiplier: 1000
-- numerator: events -- episodes of the practice starting in the period
-- denominator: bed_days -- occupied bed days in the period
-- param: practice text default seclusion in seclusion|physical_restraint|mechanical_restraint|chemical_restraint|environmental_restraint|all -- practice; all gives each practice its own rows
-- param: org text default '' -- organisation code; at level peer_group, that organisation's group; empty for all
-- param: level text default org in org|peer_group|national -- what a row is about
-- param: grouping text default size in size|challenge|config -- the peer grouping (ako peers --by)
-- param: grain text default month in month|quarter|year|financial_year -- length of a period (a financial year runs July to June: 2024/25)
WITH practices AS (
    SELECT column1 AS practice
    FROM (VALUES ('seclusion'), ('physical_restraint'), ('mechanical_restraint'),
                 ('chemical_restraint'), ('environmental_restraint'))
),
bed_days AS (
    SELECT org_code, month, sum(bed_days) AS bed_days
    FROM inpatient_activity
    GROUP BY org_code, month
),
frame AS (
    SELECT b.org_code, b.month, b.bed_days,
           coalesce(s.received_date IS NOT NULL, false) AS received
    FROM bed_days b
    LEFT JOIN submissions s ON s.org_code = b.org_code AND s.month = b.month
),
events AS (
    SELECT org_code, month, practice, count(*) AS events
    FROM episodes
    GROUP BY org_code, month, practice
),
mine AS (
    SELECT peer_group FROM peer_groups WHERE org_code = $org AND grouping = $grouping
),
rows AS (
    SELECT f.org_code,
           o.jurisdiction,
           g.peer_group,
           p.practice,
           CASE $grain
               WHEN 'quarter' THEN substr(f.month, 1, 4) || '-Q'
                   || CAST((CAST(substr(f.month, 6, 2) AS INT) + 2) / 3 AS VARCHAR)
               WHEN 'year' THEN substr(f.month, 1, 4)
               WHEN 'financial_year' THEN
                   CASE WHEN CAST(substr(f.month, 6, 2) AS INT) >= 7
                        THEN substr(f.month, 1, 4) || '/'
                             || lpad(CAST((CAST(substr(f.month, 1, 4) AS INT) + 1) % 100 AS VARCHAR), 2, '0')
                        ELSE CAST(CAST(substr(f.month, 1, 4) AS INT) - 1 AS VARCHAR) || '/' || substr(f.month, 3, 2)
                   END
               ELSE f.month
           END AS period,
           f.received,
           f.bed_days,
           CASE WHEN f.received THEN coalesce(e.events, 0) END AS events
    FROM frame f
    CROSS JOIN practices p
    LEFT JOIN events e
        ON e.org_code = f.org_code AND e.month = f.month AND e.practice = p.practice
    LEFT JOIN peer_groups g ON g.org_code = f.org_code AND g.grouping = $grouping
    LEFT JOIN organisations o ON o.org_code = f.org_code
    WHERE ($practice = 'all' OR p.practice = $practice)
      AND ($org = ''
           OR ($level = 'org' AND f.org_code = $org)
           OR ($level = 'peer_group' AND g.peer_group IN (SELECT peer_group FROM mine))
           OR $level = 'national')
),
keyed AS (
    SELECT CASE WHEN $level = 'org' THEN org_code END AS org_key,
           CASE WHEN $level <> 'national' THEN peer_group END AS group_key,
           CASE WHEN $level <> 'peer_group' THEN jurisdiction END AS jurisdiction_key,
           *
    FROM rows
)
SELECT jurisdiction_key AS jurisdiction,
       org_key AS org_code,
       group_key AS peer_group,
       practice,
       period,
       bool_and(received) AS extract_received,
       CASE WHEN $level = 'org' AND NOT bool_and(received) THEN NULL
            ELSE sum(events) END AS events,
       CASE WHEN $level = 'org' THEN sum(bed_days)
            ELSE sum(CASE WHEN received THEN bed_days END) END AS bed_days
FROM keyed
GROUP BY jurisdiction_key, org_key, group_key, practice, period
ORDER BY jurisdiction_key, org_key, group_key, practice, period
