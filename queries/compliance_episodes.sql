-- title: Episodes in breach of, flagged by, or not evaluable against a compliance rule
-- description: One row per episode and rule where the outcome is not compliant, with the
-- description: rule's citation and what was found (e.g. "4.50 h, over 3 h"), for the
-- description: organisation to review. (Compliant episodes are only counted, in
-- description: compliance_by_org.)
-- unit: episodes
-- param: org text default '' -- organisation code; empty for every organisation
-- param: rule text default '' -- rule id; empty for every rule
-- param: outcome text default '' -- breach, flagged or not_evaluable; empty for all three
SELECT org_code, month, episode_id, practice, rule_id, rule, citation, outcome, detail
FROM compliance_flags
WHERE ($org = '' OR org_code = $org)
  AND ($rule = '' OR rule_id = $rule)
  AND ($outcome = '' OR outcome = $outcome)
ORDER BY org_code, month, episode_id, rule_id
