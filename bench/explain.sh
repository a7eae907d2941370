#!/bin/bash
# EXPLAIN (ANALYZE) of the statements behind the listings, on a seeded PostgreSQL database:
# each should read rows in proportion to its page, not to its table.
URL=${1:?usage: bench/explain.sh DATABASE_URL}
P="psql $URL -At"
FUND=$($P -c "SELECT fund_id FROM fund_manager fm JOIN user_account u ON u.id=fm.user_id WHERE u.email='manager0a@seed.bridgefund.test'")
U=$($P -c "SELECT id FROM user_account WHERE email='manager0a@seed.bridgefund.test'")
CALL=$($P -c "SELECT id FROM call WHERE fund_id='$FUND' AND status='DECIDED' ORDER BY created_at LIMIT 1")
OWNER=$($P -c "SELECT id FROM user_account WHERE email='owner1@seed.bridgefund.test'")
REV=$($P -c "SELECT id FROM user_account WHERE email='reviewer0_0@seed.bridgefund.test'")
# The listings as the server sends them (see `service::application::list`): one index range per
# managed fund and per own organisation; this manager has one fund and no organisation, and the
# admin none, so each is a single range. A listing of one call of a managed fund is that call's
# range alone.
SCOPE="fund_id = '$FUND' AND status <> 'DRAFT'"
run() { echo "### $1"; psql "$URL" -c "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $2" | grep -E "Scan|rows=|Limit|Sort|Join|Removed|Index Cond" | head -${3:-12}; }
run "1. open calls, first page" "SELECT * FROM call WHERE status = 'OPEN' ORDER BY closes_at, id LIMIT 21"
run "2a. manager's applications in a call, first page" "SELECT * FROM application WHERE status <> 'DRAFT' AND call_id = '$CALL' ORDER BY created_at DESC, id DESC LIMIT 51"
CUR=$($P -c "SELECT created_at, id FROM application WHERE call_id='$CALL' ORDER BY created_at DESC, id DESC OFFSET 200 LIMIT 1" | head -1)
CT=${CUR%%|*}; CI=${CUR##*|}
run "2b. manager's applications in a call, after 200 rows" "SELECT * FROM application WHERE status <> 'DRAFT' AND call_id = '$CALL' AND (created_at, id) < ('$CT', '$CI') ORDER BY created_at DESC, id DESC LIMIT 51"
ADMIN=$($P -c "SELECT user_id FROM user_role WHERE role='ADMIN' LIMIT 1")
ASCOPE="status <> 'DRAFT'"
DEEP=$($P -c "SELECT created_at, id FROM application WHERE status <> 'DRAFT' ORDER BY created_at DESC, id DESC OFFSET 3980 LIMIT 1" | head -1)
DT=${DEEP%%|*}; DI=${DEEP##*|}
run "3a. admin's listing, page 1 of 20" "SELECT * FROM application WHERE $ASCOPE ORDER BY created_at DESC, id DESC LIMIT 21"
run "3b. admin's listing, page 200 of 20" "SELECT * FROM application WHERE $ASCOPE AND (created_at, id) < ('$DT', '$DI') ORDER BY created_at DESC, id DESC LIMIT 21"
run "2c. manager's applications, all their funds" "SELECT * FROM application WHERE $SCOPE ORDER BY created_at DESC, id DESC LIMIT 51"
run "2d. applications filtered by host country" "SELECT * FROM application WHERE $SCOPE AND host_countries LIKE '%,ET,%' ORDER BY created_at DESC, id DESC LIMIT 51"
run "4. ranking: the call's applications" "SELECT * FROM application WHERE call_id = '$CALL' AND status NOT IN ('DRAFT','WITHDRAWN')"
run "4. ranking: the call's assignments" "SELECT * FROM review_assignment WHERE call_id = '$CALL' AND status <> 'RECUSED'"
run "5. fund summary" "SELECT amount_minor, disbursed_minor, status, host_countries, sdg_goals, applicant_category FROM grant_award WHERE fund_id = '$FUND'"
run "grants of a grantee" "SELECT * FROM grant_award WHERE organization_id IN (SELECT organization_id FROM organization_member WHERE user_id='$OWNER') ORDER BY created_at DESC, id DESC LIMIT 21"
run "a reviewer's assignments" "SELECT * FROM review_assignment WHERE reviewer_id = '$REV' ORDER BY due_at, id LIMIT 21"
run "fund's upcoming tranches" "SELECT * FROM disbursement WHERE fund_id = '$FUND' AND status IN ('PLANNED','APPROVED') AND due_on >= CURRENT_DATE ORDER BY due_on, id LIMIT 21"
