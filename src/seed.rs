//! A realistic, deterministic dataset for benchmarks and demos: `bridgefund seed --scale N`.
//!
//! For N = 1: 3 funds, 30 calls, 2,000 organisations (a tenth of them companies), about 10,000
//! applications with partners and budget lines, about 30,000 review assignments, 3,000 grants
//! with their tranches, and users in every role. Everything scales linearly with N. Rows are
//! written in batches straight to the tables (the rules were applied when the data was made:
//! budgets add up, scores are weighed by the domain, committed and disbursed totals match the
//! grants), from a fixed random seed, so two runs at the same scale write the same data apart from
//! ids and times.
//!
//! Every seeded account has the password [`SEED_PASSWORD`]: seeded data is for test machines.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::{
    application, application_budget_line, application_decision, application_partner, call,
    disbursement, fund, fund_manager, fund_reviewer, grant, organization, organization_member,
    review_assignment, user_account, user_role,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, IntoActiveModel, PaginatorTrait};
use serde::Serialize;
use uuid::Uuid;

use crate::domain::call::{Criterion, Rubric, weighted_score_basis_points};
use crate::domain::disbursement::{BankDetails, check_remittance};
use crate::domain::eligibility::EligibilityRules;
use crate::domain::identity::{GlobalRole, Password};
use crate::domain::money::{Currency, ExchangeRate, Money, split_evenly};
use crate::domain::review::summarize;
use crate::domain::usci::{Usci, UsciError};

/// The password of every seeded account.
pub const SEED_PASSWORD: &str = "seeded-bench-password";
/// The random seed: the same scale always gives the same data.
const RANDOM_SEED: u64 = 2027;
const FUNDS_PER_SCALE: usize = 3;
const CALLS_PER_FUND: usize = 10;
const ORGANIZATIONS_PER_SCALE: usize = 2_000;
const APPLICATIONS_PER_SCALE: usize = 10_000;
const REVIEWERS_PER_FUND: usize = 20;
const REVIEWS_PER_APPLICATION: usize = 3;
const BATCH: usize = 400;
/// Minor units per major unit in the seeded funds' currencies (CNY and USD).
const CENTS: i64 = 100;
/// The CNY → USD rate the seeded payments were measured at.
const CNY_TO_USD: &str = "0.14";

/// What the benchmark needs to find its way around the seeded data.
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Fixtures {
    pub password: String,
    pub admin: String,
    pub funds: Vec<FundFixture>,
    /// A member of an applicant organisation, and one of its submitted applications.
    pub applicant: String,
    pub application: Uuid,
    /// Reviewers with the assignments they have not reviewed yet.
    pub reviewers: Vec<ReviewerFixture>,
    /// Managers with approved tranches ready to be sent (accepted grants, approved bank details,
    /// no remittance filing needed).
    pub payers: Vec<PayerFixture>,
    pub counts: Counts,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FundFixture {
    pub id: Uuid,
    pub currency: String,
    pub managers: Vec<String>,
    /// A decided call with its applications, for the ranking.
    pub ranking_call: Uuid,
    pub ranking_call_applications: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewerFixture {
    pub email: String,
    pub assignments: Vec<Uuid>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PayerFixture {
    pub email: String,
    pub currency: String,
    pub disbursements: Vec<(Uuid, String)>,
}

#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub users: usize,
    pub funds: usize,
    pub calls: usize,
    pub organizations: usize,
    pub applications: usize,
    pub partners: usize,
    pub budget_lines: usize,
    pub review_assignments: usize,
    pub submitted_reviews: usize,
    pub grants: usize,
    pub disbursements: usize,
}

/// Rows waiting to be written, flushed in batches.
#[derive(Default)]
struct Rows {
    users: Vec<user_account::Model>,
    roles: Vec<user_role::Model>,
    funds: Vec<fund::Model>,
    managers: Vec<fund_manager::Model>,
    reviewers: Vec<fund_reviewer::Model>,
    calls: Vec<call::Model>,
    organizations: Vec<organization::Model>,
    members: Vec<organization_member::Model>,
    applications: Vec<application::Model>,
    /// What each submitted application looked like when submitted, as submission freezes it.
    snapshots: Vec<(Uuid, serde_json::Value)>,
    partners: Vec<application_partner::Model>,
    budget_lines: Vec<application_budget_line::Model>,
    assignments: Vec<review_assignment::Model>,
    decisions: Vec<application_decision::Model>,
    grants: Vec<grant::Model>,
    disbursements: Vec<disbursement::Model>,
}

async fn insert_all<E>(db: &DatabaseConnection, rows: &[E::Model]) -> anyhow::Result<()>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Clone,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    for chunk in rows.chunks(BATCH) {
        E::insert_many(
            chunk
                .iter()
                .cloned()
                .map(IntoActiveModel::into_active_model),
        )
        .exec_without_returning(db)
        .await
        .with_context(|| format!("could not insert into {}", E::default().table_name()))?;
    }
    Ok(())
}

/// Writes the submitted versions, a batch per statement (`CASE id WHEN … THEN …`): the
/// snapshot has its own model, so it is not part of the application rows inserted above.
async fn store_snapshots(
    db: &DatabaseConnection,
    snapshots: &[(Uuid, serde_json::Value)],
) -> anyhow::Result<()> {
    use sea_orm::sea_query::{CaseStatement, Expr};
    use sea_orm::{ColumnTrait, QueryFilter};
    for chunk in snapshots.chunks(BATCH / 4) {
        let mut case = CaseStatement::new();
        for (id, snapshot) in chunk {
            case = case.case(
                entity::application_snapshot::Column::Id.eq(*id),
                Expr::val(snapshot.clone()),
            );
        }
        entity::application_snapshot::Entity::update_many()
            .col_expr(entity::application_snapshot::Column::Snapshot, case.into())
            .filter(entity::application_snapshot::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(db)
            .await
            .context("could not store the submitted versions")?;
    }
    Ok(())
}

/// The submitted version of a seeded application, as submission writes it, with the partners
/// and budget lines just generated for it (seeded applications carry no documents).
fn snapshot_of(
    app: &application::Model,
    currency: &str,
    rows: &Rows,
    organizations: &HashMap<Uuid, organization::Model>,
) -> anyhow::Result<serde_json::Value> {
    let mine = |id: &Uuid| id == &app.id;
    let partners: Vec<_> = rows
        .partners
        .iter()
        .rev()
        .take_while(|p| mine(&p.application_id))
        .cloned()
        .collect();
    let lines: Vec<_> = rows
        .budget_lines
        .iter()
        .rev()
        .take_while(|l| mine(&l.application_id))
        .cloned()
        .collect();
    let partner_orgs: Vec<_> = partners
        .iter()
        .filter_map(|p| organizations.get(&p.organization_id).cloned())
        .collect();
    let org = organizations
        .get(&app.organization_id)
        .context("a seeded application's organisation is missing")?;
    Ok(crate::service::application::submitted_version(
        app,
        currency,
        org,
        &partners,
        &partner_orgs,
        &lines,
        &[],
    ))
}

impl Rows {
    async fn flush(&mut self, db: &DatabaseConnection) -> anyhow::Result<()> {
        insert_all::<user_account::Entity>(db, &std::mem::take(&mut self.users)).await?;
        insert_all::<user_role::Entity>(db, &std::mem::take(&mut self.roles)).await?;
        insert_all::<fund::Entity>(db, &std::mem::take(&mut self.funds)).await?;
        insert_all::<fund_manager::Entity>(db, &std::mem::take(&mut self.managers)).await?;
        insert_all::<fund_reviewer::Entity>(db, &std::mem::take(&mut self.reviewers)).await?;
        insert_all::<call::Entity>(db, &std::mem::take(&mut self.calls)).await?;
        insert_all::<organization::Entity>(db, &std::mem::take(&mut self.organizations)).await?;
        insert_all::<organization_member::Entity>(db, &std::mem::take(&mut self.members)).await?;
        insert_all::<application::Entity>(db, &std::mem::take(&mut self.applications)).await?;
        store_snapshots(db, &std::mem::take(&mut self.snapshots)).await?;
        insert_all::<application_partner::Entity>(db, &std::mem::take(&mut self.partners)).await?;
        insert_all::<application_budget_line::Entity>(db, &std::mem::take(&mut self.budget_lines))
            .await?;
        insert_all::<review_assignment::Entity>(db, &std::mem::take(&mut self.assignments)).await?;
        insert_all::<application_decision::Entity>(db, &std::mem::take(&mut self.decisions))
            .await?;
        insert_all::<grant::Entity>(db, &std::mem::take(&mut self.grants)).await?;
        insert_all::<disbursement::Entity>(db, &std::mem::take(&mut self.disbursements)).await?;
        Ok(())
    }
}

fn user(
    email: String,
    name: String,
    zh: bool,
    hash: &str,
    now: DateTime<Utc>,
) -> user_account::Model {
    user_account::Model {
        id: Uuid::now_v7(),
        email,
        name,
        locale: if zh { "zh-CN" } else { "en" }.to_owned(),
        password_hash: hash.to_owned(),
        email_verified_at: Some(now),
        created_at: now,
        updated_at: now,
    }
}

/// A valid USCI of a social organisation (`51…`), its check character computed by the domain.
fn ngo_usci(n: usize) -> anyhow::Result<String> {
    let body = format!("5153{:013}", n);
    match Usci::parse(&format!("{body}0")) {
        Ok(usci) => Ok(usci.as_str().to_owned()),
        Err(UsciError::WrongCheckCharacter { expected, .. }) => Ok(format!("{body}{expected}")),
        Err(error) => Err(anyhow::anyhow!("seeded USCI {body} is invalid: {error}")),
    }
}

const HOST_COUNTRIES: [&str; 8] = ["KE", "TZ", "ET", "UG", "RW", "ZM", "LA", "KH"];
const INTERNATIONAL_COUNTRIES: [&str; 4] = ["GB", "US", "NL", "CH"];
const SDGS: [u8; 6] = [1, 2, 3, 4, 6, 13];

fn delimited(items: &[String]) -> String {
    if items.is_empty() {
        String::new()
    } else {
        format!(",{},", items.join(","))
    }
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// Fills an empty, migrated database. Refuses a database that already has funds.
pub async fn seed(
    db: &DatabaseConnection,
    scale: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Fixtures> {
    anyhow::ensure!(scale >= 1, "the scale is at least 1");
    anyhow::ensure!(
        fund::Entity::find().count(db).await? == 0,
        "the database has funds already: seed an empty, migrated database"
    );
    let mut rng = StdRng::seed_from_u64(RANDOM_SEED);
    let hash = crate::auth::password::hash(
        &Password::parse(SEED_PASSWORD).map_err(|e| anyhow::anyhow!("{e}"))?,
    )
    .await?;
    let mut rows = Rows::default();
    let mut fixtures = Fixtures {
        password: SEED_PASSWORD.to_owned(),
        ..Fixtures::default()
    };
    let mut counts = Counts::default();
    let rubric = Rubric::new(vec![
        criterion("relevance", "Relevance", 40, 10),
        criterion("feasibility", "Feasibility", 35, 10),
        criterion("value", "Value for money", 25, 5),
    ])
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rubric_json = serde_json::to_value(&rubric)?;
    let rules_json = serde_json::to_value(EligibilityRules::default())?;
    let usd = Currency::parse("USD").map_err(|e| anyhow::anyhow!("{e}"))?;
    let threshold = Money::new(5_000_000, usd).map_err(|e| anyhow::anyhow!("{e}"))?;
    let cny_to_usd = ExchangeRate::parse(CNY_TO_USD).map_err(|e| anyhow::anyhow!("{e}"))?;

    // Admin.
    let admin = user(
        "admin@seed.bridgefund.test".into(),
        "Seed Admin".into(),
        false,
        &hash,
        now,
    );
    fixtures.admin = admin.email.clone();
    rows.roles.push(user_role::Model {
        id: Uuid::now_v7(),
        user_id: admin.id,
        role: GlobalRole::Admin.as_str().to_owned(),
        granted_by: None,
        created_at: now,
        updated_at: now,
    });
    let admin_id = admin.id;
    rows.users.push(admin);

    // Organisations: 10% companies, 30% Chinese NGOs, 20% international NGOs, 40% host-country.
    let organization_count = ORGANIZATIONS_PER_SCALE * scale;
    let mut ngos: Vec<(Uuid, Uuid)> = Vec::new(); // (organisation, owner)
    let mut host_ngos: Vec<Uuid> = Vec::new();
    // Whose application the benchmark reads in full.
    let mut applicant_owner = None;
    for n in 0..organization_count {
        let zh = n % 3 == 0;
        let owner = user(
            format!("owner{n}@seed.bridgefund.test"),
            format!("Owner {n}"),
            zh,
            &hash,
            now,
        );
        let (org_type, country, registry, name_zh) = match n % 10 {
            0 => (70, "KE".to_owned(), format!("KE-BRS-C{n}"), None),
            1..=3 => (
                22,
                "CN".to_owned(),
                format!("CN-USCI-{}", ngo_usci(n)?),
                Some(format!("公益组织{n}")),
            ),
            4 | 5 => (
                21,
                pick(&mut rng, &INTERNATIONAL_COUNTRIES).to_string(),
                format!("GB-CHC-{}", 100_000 + n),
                None,
            ),
            _ => {
                let country = pick(&mut rng, &HOST_COUNTRIES).to_string();
                (22, country.clone(), format!("{country}-NGO-{n}"), None)
            }
        };
        let org = organization::Model {
            id: Uuid::now_v7(),
            name_en: format!("Organisation {n}"),
            name_zh,
            org_type,
            country,
            registry_identifier: registry,
            registered_on: NaiveDate::from_ymd_opt(2005 + (n % 15) as i32, 1 + (n % 12) as u32, 1),
            website: None,
            annual_budget_minor: None,
            annual_budget_currency: None,
            created_by: owner.id,
            created_at: now,
            updated_at: now,
        };
        if org_type != 70 {
            ngos.push((org.id, owner.id));
            if org_type == 22 && org.country != "CN" {
                host_ngos.push(org.id);
            }
        }
        if n == 1 {
            fixtures.applicant = owner.email.clone();
            applicant_owner = Some(owner.id);
        }
        rows.members.push(organization_member::Model {
            id: Uuid::now_v7(),
            organization_id: org.id,
            user_id: owner.id,
            role: "OWNER".into(),
            created_at: now,
            updated_at: now,
        });
        rows.users.push(owner);
        rows.organizations.push(org);
    }
    counts.organizations = organization_count;
    // Kept for the submitted versions, which name the applicant and partners as they were.
    let organizations: HashMap<Uuid, organization::Model> = rows
        .organizations
        .iter()
        .map(|org| (org.id, org.clone()))
        .collect();
    rows.flush(db).await?;
    let categories: HashMap<Uuid, String> = organization::Entity::find()
        .all(db)
        .await?
        .iter()
        .map(|o| {
            (
                o.id,
                crate::service::organization::category_of(o)
                    .as_str()
                    .to_owned(),
            )
        })
        .collect();

    let fund_count = FUNDS_PER_SCALE * scale;
    let applications_per_call = APPLICATIONS_PER_SCALE * scale / (fund_count * CALLS_PER_FUND);
    let mut reference = 0usize;
    let mut applicant_org_cursor = 0usize;
    for f in 0..fund_count {
        let currency = if f % 3 == 1 { "USD" } else { "CNY" };
        let fund_currency = Currency::parse(currency).map_err(|e| anyhow::anyhow!("{e}"))?;
        let managers: Vec<user_account::Model> = (0..2)
            .map(|m| {
                user(
                    format!("manager{f}{}@seed.bridgefund.test", ['a', 'b'][m]),
                    format!("Manager {f}{}", ['A', 'B'][m]),
                    m == 1,
                    &hash,
                    now,
                )
            })
            .collect();
        let reviewers: Vec<user_account::Model> = (0..REVIEWERS_PER_FUND)
            .map(|r| {
                user(
                    format!("reviewer{f}_{r}@seed.bridgefund.test"),
                    format!("Reviewer {f}/{r}"),
                    r % 2 == 0,
                    &hash,
                    now,
                )
            })
            .collect();
        let call_budget: i64 = 120_000_000 * CENTS;
        let fund_row = fund::Model {
            id: Uuid::now_v7(),
            name_en: format!("South-South Fund {f}"),
            name_zh: Some(format!("南南合作基金{f}")),
            description_en: None,
            description_zh: None,
            currency: currency.to_owned(),
            budget_minor: call_budget * CALLS_PER_FUND as i64,
            allocated_minor: call_budget * CALLS_PER_FUND as i64,
            committed_minor: 0,
            disbursed_minor: 0,
            remittance_threshold_minor: threshold.minor(),
            remittance_threshold_currency: "USD".into(),
            created_by: admin_id,
            created_at: now,
            updated_at: now,
        };
        let fund_id = fund_row.id;
        let mut fund_committed = 0_i64;
        let mut fund_disbursed = 0_i64;
        for m in &managers {
            rows.managers.push(fund_manager::Model {
                id: Uuid::now_v7(),
                fund_id,
                user_id: m.id,
                created_at: now,
                updated_at: now,
            });
        }
        for r in &reviewers {
            rows.reviewers.push(fund_reviewer::Model {
                id: Uuid::now_v7(),
                fund_id,
                user_id: r.id,
                created_at: now,
                updated_at: now,
                added_by: Some(managers[0].id),
            });
        }
        let mut fund_fixture = FundFixture {
            id: fund_id,
            currency: currency.to_owned(),
            managers: managers.iter().map(|m| m.email.clone()).collect(),
            ranking_call: Uuid::nil(),
            ranking_call_applications: 0,
        };
        let mut reviewer_work: Vec<Vec<Uuid>> = vec![Vec::new(); REVIEWERS_PER_FUND];
        let mut sendable: Vec<(Uuid, String)> = Vec::new();
        rows.funds.push(fund_row);
        for c in 0..CALLS_PER_FUND {
            // Per fund: 4 open, 1 closed and under review, 5 decided.
            let (status, opens_at, closes_at) = match c {
                0..=3 => (
                    "OPEN",
                    now - Duration::days(30),
                    now + Duration::days(60 + c as i64),
                ),
                4 => (
                    "CLOSED",
                    now - Duration::days(120),
                    now - Duration::days(10),
                ),
                _ => (
                    "DECIDED",
                    now - Duration::days(400 + 30 * c as i64),
                    now - Duration::days(300 + 30 * c as i64),
                ),
            };
            let hosts: Vec<String> = (0..3)
                .map(|i| HOST_COUNTRIES[(f + c + i) % HOST_COUNTRIES.len()].to_owned())
                .collect();
            let goals: Vec<String> = (0..2)
                .map(|i| SDGS[(f + c + i) % SDGS.len()].to_string())
                .collect();
            let call_row = call::Model {
                id: Uuid::now_v7(),
                fund_id,
                title_en: format!("Call {f}-{c}: community water and health"),
                title_zh: Some(format!("项目征集 {f}-{c}：社区饮水与健康")),
                description_en: Some("Seeded call for benchmarks.".into()),
                description_zh: None,
                status: status.to_owned(),
                published: true,
                opens_at,
                closes_at,
                budget_minor: call_budget,
                min_award_minor: 10_000 * CENTS,
                max_award_minor: 500_000 * CENTS,
                committed_minor: 0,
                host_countries: delimited(&hosts),
                sdg_goals: delimited(&goals),
                eligible_categories: ",CHINESE_NGO,INTERNATIONAL_NGO,HOST_COUNTRY_NGO,".into(),
                rubric: Some(rubric_json.clone()),
                rules: rules_json.clone(),
                reviewers_per_application: REVIEWS_PER_APPLICATION as i32,
                blind_review: c % 2 == 1,
                moderation_threshold_bp: 2_000,
                created_by: managers[0].id,
                created_at: now,
                updated_at: now,
            };
            let call_id = call_row.id;
            let mut call_committed = 0_i64;
            if status == "DECIDED" && fund_fixture.ranking_call.is_nil() {
                fund_fixture.ranking_call = call_id;
                fund_fixture.ranking_call_applications = applications_per_call;
            }
            for a in 0..applications_per_call {
                let (org_id, owner_id) = ngos[applicant_org_cursor % ngos.len()];
                applicant_org_cursor += 1;
                reference += 1;
                let draft = status == "OPEN" && a % 20 == 0;
                let requested: i64 = rng.random_range(50..=500) * 1_000 * CENTS;
                let app_hosts: Vec<String> = hosts[..rng.random_range(1..=2)].to_vec();
                let app_goals: Vec<String> = goals[..rng.random_range(1..=2)].to_vec();
                let submitted_at =
                    (!draft).then(|| opens_at + Duration::days(rng.random_range(1..20)));
                let mut app = application::Model {
                    id: Uuid::now_v7(),
                    call_id,
                    fund_id,
                    organization_id: org_id,
                    applicant_category: categories.get(&org_id).cloned().unwrap_or_default(),
                    reference: format!("BF-SEED-{reference:07}"),
                    title_en: Some(format!("Safe water for {} communities", 5 + a % 40)),
                    title_zh: (a % 3 == 0).then(|| format!("为{}个社区提供安全饮水", 5 + a % 40)),
                    summary_en: Some("Boreholes, water committees and hygiene training.".into()),
                    summary_zh: None,
                    description_en: Some("A seeded application: ".repeat(20)),
                    description_zh: None,
                    host_countries: delimited(&app_hosts),
                    sdg_goals: delimited(&app_goals),
                    requested_minor: requested,
                    duration_months: Some(rng.random_range(6..=36)),
                    planned_start: Some((closes_at + Duration::days(60)).date_naive()),
                    status: "DRAFT".into(),
                    submitted_at,
                    reminder_sent_at: None,
                    review_count: 0,
                    score_bp: None,
                    score_spread_bp: None,
                    version: 1,
                    created_by: owner_id,
                    created_at: opens_at + Duration::minutes(reference as i64),
                    updated_at: now,
                };
                if fixtures.application.is_nil() && Some(owner_id) == applicant_owner && !draft {
                    fixtures.application = app.id;
                }
                // Budget lines that add up; sometimes a partner with a share.
                let lines = split_evenly(requested, rng.random_range(2..=3));
                for (position, amount) in lines.iter().enumerate() {
                    rows.budget_lines.push(application_budget_line::Model {
                        id: Uuid::now_v7(),
                        application_id: app.id,
                        position: position as i32,
                        category: ["Drilling", "Training", "Monitoring"][position].into(),
                        description: None,
                        amount_minor: *amount,
                        created_at: now,
                        updated_at: now,
                    });
                    counts.budget_lines += 1;
                }
                if rng.random_bool(0.5) {
                    let partner = *pick(&mut rng, &host_ngos);
                    if partner != org_id {
                        rows.partners.push(application_partner::Model {
                            id: Uuid::now_v7(),
                            application_id: app.id,
                            organization_id: partner,
                            budget_share_minor: requested / 5,
                            status: "ACCEPTED".into(),
                            responded_by: None,
                            responded_at: Some(now),
                            created_at: now,
                            updated_at: now,
                        });
                        counts.partners += 1;
                    }
                }
                if draft {
                    rows.applications.push(app);
                    counts.applications += 1;
                    continue;
                }
                // Three reviewers from the pool, in turn.
                let mut scores = Vec::new();
                for k in 0..REVIEWS_PER_APPLICATION {
                    let r = (a * REVIEWS_PER_APPLICATION + k) % REVIEWERS_PER_FUND;
                    let submitted = status != "OPEN";
                    let criterion_scores: Vec<crate::domain::review::CriterionScore> = rubric
                        .criteria()
                        .iter()
                        .map(|c| crate::domain::review::CriterionScore {
                            key: c.key.clone(),
                            score: rng.random_range(c.max_score / 3..=c.max_score),
                            justification: "Seeded justification".into(),
                        })
                        .collect();
                    let weighed: Vec<(&str, u32)> = criterion_scores
                        .iter()
                        .map(|s| (s.key.as_str(), s.score))
                        .collect();
                    let score = weighted_score_basis_points(&rubric, &weighed)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let row = review_assignment::Model {
                        id: Uuid::now_v7(),
                        application_id: app.id,
                        call_id,
                        reviewer_id: reviewers[r].id,
                        status: if submitted { "SUBMITTED" } else { "ASSIGNED" }.into(),
                        due_at: if submitted {
                            closes_at + Duration::days(20)
                        } else {
                            closes_at + Duration::days(30)
                        },
                        assigned_by: managers[0].id,
                        recusal_reason: None,
                        recused_at: None,
                        reminder_sent_at: None,
                        overdue_sent_at: None,
                        scores: submitted
                            .then(|| serde_json::to_value(&criterion_scores))
                            .transpose()?,
                        recommendation: submitted.then(|| {
                            ["FUND", "FUND_WITH_CONDITIONS", "DO_NOT_FUND"][rng.random_range(0..3)]
                                .to_owned()
                        }),
                        comment: submitted.then(|| "Seeded review".to_owned()),
                        score_bp: submitted.then_some(score as i32),
                        submitted_at: submitted.then_some(closes_at + Duration::days(5)),
                        created_at: now,
                        updated_at: now,
                    };
                    if submitted {
                        scores.push(score);
                        counts.submitted_reviews += 1;
                    } else {
                        reviewer_work[r].push(row.id);
                    }
                    counts.review_assignments += 1;
                    rows.assignments.push(row);
                }
                let summary = summarize(&scores);
                app.review_count = summary.count as i32;
                app.score_bp = summary.mean_bp.map(|v| v as i32);
                app.score_spread_bp = summary.spread_bp.map(|v| v as i32);
                app.status = "UNDER_REVIEW".into();
                if status == "DECIDED" {
                    let roll = a % 10;
                    let outcome = match roll {
                        0..=5 => "APPROVE",
                        6..=8 => "REJECT",
                        _ => "WAITLIST",
                    };
                    app.status = match outcome {
                        "APPROVE" => "APPROVED",
                        "REJECT" => "REJECTED",
                        _ => "WAITLISTED",
                    }
                    .into();
                    let decided_at = closes_at + Duration::days(40);
                    rows.decisions.push(application_decision::Model {
                        id: Uuid::now_v7(),
                        application_id: app.id,
                        outcome: outcome.into(),
                        amount_minor: (outcome == "APPROVE").then_some(requested),
                        conditions: (outcome == "APPROVE").then(|| "Quarterly reports".to_owned()),
                        rationale: Some("Seeded decision".into()),
                        rationale_shared: true,
                        decided_by: managers[0].id,
                        desk_rejection: None,
                        decided_at,
                    });
                    if outcome == "APPROVE" {
                        let grant_id = Uuid::now_v7();
                        let tranche_count = rng.random_range(2..=3);
                        let amounts = split_evenly(requested, tranche_count);
                        let bank = BankDetails {
                            account_name: format!("Organisation account {a}"),
                            account_number: format!("00{:010}", reference),
                            bank_name: "Seed Bank".into(),
                            swift: None,
                            currency: fund_currency,
                        };
                        let mut planned = 0;
                        let mut disbursed = 0;
                        for (sequence, amount) in amounts.iter().enumerate() {
                            // The first tranche arrived, the second is on its way or approved,
                            // the rest are planned.
                            let status = match (sequence, a % 4) {
                                (0, _) => "CONFIRMED",
                                (1, 0) => "SENT",
                                (1, _) => "APPROVED",
                                _ => "PLANNED",
                            };
                            let money = Money::new(*amount, fund_currency)
                                .map_err(|e| anyhow::anyhow!("{e}"))?;
                            let rate = (fund_currency != usd).then_some(&cny_to_usd);
                            let check = check_remittance(money, rate, threshold)
                                .map_err(|e| anyhow::anyhow!("{e}"))?;
                            let approved = status != "PLANNED";
                            let sent = matches!(status, "SENT" | "CONFIRMED");
                            planned += amount;
                            if sent {
                                disbursed += amount;
                            }
                            let row = disbursement::Model {
                                id: Uuid::now_v7(),
                                grant_id,
                                fund_id,
                                sequence: sequence as i32 + 1,
                                amount_minor: *amount,
                                currency: currency.to_owned(),
                                due_on: (decided_at + Duration::days(60 + 120 * sequence as i64))
                                    .date_naive(),
                                condition: None,
                                condition_met_at: None,
                                condition_met_by: None,
                                status: status.into(),
                                planned_by: managers[0].id,
                                approved_by: approved.then_some(managers[1].id),
                                approved_at: approved.then_some(decided_at),
                                expected_rate: (approved && rate.is_some())
                                    .then(|| CNY_TO_USD.to_owned()),
                                expected_rate_source: (approved && rate.is_some())
                                    .then(|| "Seeded reference rate".to_owned()),
                                expected_rate_on: (approved && rate.is_some())
                                    .then_some(decided_at.date_naive()),
                                filing_required: approved && check.filing_required,
                                bank_reference: sent
                                    .then(|| format!("SEED-{reference}-{sequence}")),
                                sent_on: sent
                                    .then_some((decided_at + Duration::days(61)).date_naive()),
                                sent_by: sent.then_some(managers[0].id),
                                actual_rate: (sent && rate.is_some())
                                    .then(|| CNY_TO_USD.to_owned()),
                                payee_currency: sent.then(|| currency.to_owned()),
                                payee_rate: None,
                                amount_sent_minor: sent.then_some(*amount),
                                threshold_equivalent_minor: approved
                                    .then_some(check.equivalent.minor()),
                                confirmed_by: (status == "CONFIRMED").then_some(owner_id),
                                confirmed_at: (status == "CONFIRMED")
                                    .then_some(decided_at + Duration::days(70)),
                                failure_reason: None,
                                cancel_reason: None,
                                // Past tranches were reported when they fell due; the
                                // scheduler should not find a backlog of old news.
                                overdue_notified_at: (!sent
                                    && (decided_at + Duration::days(60 + 120 * sequence as i64))
                                        < now)
                                    .then_some(now),
                                created_at: decided_at,
                                updated_at: decided_at,
                            };
                            if status == "APPROVED" && !row.filing_required {
                                sendable.push((row.id, money.to_decimal_string()));
                            }
                            rows.disbursements.push(row);
                            counts.disbursements += 1;
                        }
                        rows.grants.push(grant::Model {
                            id: grant_id,
                            application_id: app.id,
                            fund_id,
                            call_id,
                            organization_id: org_id,
                            reference: app.reference.clone(),
                            amount_minor: requested,
                            currency: currency.to_owned(),
                            conditions: Some("Quarterly reports".into()),
                            starts_on: app.planned_start.unwrap_or(decided_at.date_naive()),
                            ends_on: app.planned_start.unwrap_or(decided_at.date_naive())
                                + Duration::days(365),
                            status: "ACTIVE".into(),
                            accepted_at: Some(decided_at + Duration::days(3)),
                            accepted_by: Some(owner_id),
                            planned_minor: planned,
                            disbursed_minor: disbursed,
                            bank_details: Some(serde_json::to_value(&bank)?),
                            bank_details_status: Some("APPROVED".into()),
                            bank_details_updated_at: Some(decided_at + Duration::days(3)),
                            bank_details_updated_by: Some(owner_id),
                            host_countries: app.host_countries.clone(),
                            sdg_goals: app.sdg_goals.clone(),
                            applicant_category: app.applicant_category.clone(),
                            created_by: managers[0].id,
                            created_at: decided_at,
                            updated_at: decided_at,
                        });
                        counts.grants += 1;
                        call_committed += requested;
                        fund_disbursed += disbursed;
                    }
                }
                let snapshot = snapshot_of(&app, currency, &rows, &organizations)?;
                rows.snapshots.push((app.id, snapshot));
                rows.applications.push(app);
                counts.applications += 1;
            }
            let mut call_row = call_row;
            call_row.committed_minor = call_committed;
            fund_committed += call_committed;
            rows.calls.push(call_row);
            counts.calls += 1;
        }
        if let Some(fund_row) = rows.funds.last_mut() {
            fund_row.committed_minor = fund_committed;
            fund_row.disbursed_minor = fund_disbursed;
        }
        for (r, reviewer) in reviewers.iter().enumerate() {
            fixtures.reviewers.push(ReviewerFixture {
                email: reviewer.email.clone(),
                assignments: std::mem::take(&mut reviewer_work[r]),
            });
        }
        fixtures.payers.push(PayerFixture {
            email: managers[0].email.clone(),
            currency: currency.to_owned(),
            disbursements: sendable,
        });
        fixtures.funds.push(fund_fixture);
        counts.funds += 1;
        rows.users.extend(managers);
        rows.users.extend(reviewers);
        rows.flush(db).await?;
    }
    counts.users = user_account::Entity::find().count(db).await? as usize;
    fixtures.counts = counts;
    Ok(fixtures)
}

fn criterion(key: &str, name: &str, weight: u32, max_score: u32) -> Criterion {
    Criterion {
        key: key.into(),
        name_en: name.into(),
        name_zh: None,
        description: None,
        weight,
        max_score,
    }
}
