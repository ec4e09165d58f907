-- title: Compliance with the jurisdiction's seclusion rules, per organisation and rule
-- description: Each episode is checked against its jurisdiction's rule set in
-- description: compliance/*.toml (QLD Chief Psychiatrist policy, NSW disability guidance,
-- description: NZ ID(CCR) Act s60). Per organisation and rule: episodes the rule applies
-- description: to, breaches, episodes flagged for follow-up, and episodes the data cannot
-- description: evaluate (no end time, no observation record), which are never counted as
-- description: compliant. pct_breach is breaches over the episodes that could be
-- description: evaluated. Rows refused at ingest (e.g. with no reason recorded) are not
-- description: episodes: see rejections_by_reason.
-- unit: % of evaluable episodes in breach
-- param: org text default '' -- organisation code; empty for every organisation
-- param: rule text default '' -- rule id; empty for every rule
-- param: from text default '' -- first month (YYYY-MM); empty for the earliest
-- param: to text default '' -- last month (YYYY-MM); empty for the latest
SELECT org_code,
       jurisdiction,
       rule_id,
       min(rule) AS rule,
       min(severity) AS severity,
       sum(episodes) AS episodes,
       sum(breaches) AS breaches,
       sum(flagged) AS flagged,
       sum(not_evaluable) AS not_evaluable,
       round(100.0 * CAST(sum(breaches) AS DOUBLE)
             / CAST(nullif(sum(episodes) - sum(not_evaluable), 0) AS DOUBLE), 2) AS pct_breach
FROM compliance_counts
WHERE ($org = '' OR org_code = $org)
  AND ($rule = '' OR rule_id = $rule)
  AND ($from = '' OR month >= $from)
  AND ($to = '' OR month <= $to)
GROUP BY org_code, jurisdiction, rule_id
ORDER BY org_code, rule_id
