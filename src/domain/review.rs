//! A review turns a reviewer's reading of an application into numbers a fund can rank and defend,
//! so the rules that make those numbers trustworthy live here rather than in the services: what a
//! reviewer may still do with an assignment, what a draft and a submitted review must contain,
//! how the submitted scores of an application are summarised and when they disagree enough to
//! need a moderator, and how reviewers are spread over a call's applications so that nobody
//! carries more than their share. Services load, ask here, and write.
//!
//! An assignment is `ASSIGNED` until its reviewer submits (`SUBMITTED`) or steps aside because of
//! a conflict of interest (`RECUSED`); both ends are final. A manager may withdraw an assignment
//! only while it is `ASSIGNED`, which removes it.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::call::{Rubric, ScoreError, weighted_score_basis_points};

/// Where a reviewer's assignment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignmentStatus {
    /// The reviewer owes a review; drafts may be saved.
    Assigned,
    /// The review is in and counts towards the application's score; it can no longer change.
    Submitted,
    /// The reviewer declared a conflict of interest and may not review this application.
    Recused,
}

/// Why a stored assignment status or recommendation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is neither an assignment status (ASSIGNED, SUBMITTED, RECUSED) nor a recommendation \
     (FUND, FUND_WITH_CONDITIONS, DO_NOT_FUND)"
)]
pub struct UnknownReviewValue(pub String);

impl AssignmentStatus {
    /// Every status, in life order.
    pub const ALL: [AssignmentStatus; 3] = [Self::Assigned, Self::Submitted, Self::Recused];

    /// The stable name used in the API and the database, such as `ASSIGNED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "ASSIGNED",
            Self::Submitted => "SUBMITTED",
            Self::Recused => "RECUSED",
        }
    }

    /// Whether the assignment occupies one of the application's review places and counts towards
    /// its reviewer's load: a recused reviewer no longer does either.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Assigned | Self::Submitted)
    }
}

impl fmt::Display for AssignmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AssignmentStatus {
    type Err = UnknownReviewValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownReviewValue(s.to_owned()))
    }
}

/// Something a reviewer or a manager does to an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignmentEvent {
    /// The reviewer saves unfinished work.
    SaveDraft,
    /// The reviewer hands in the finished review.
    Submit,
    /// The reviewer declares a conflict of interest.
    Recuse,
    /// A manager takes the application away from the reviewer.
    Unassign,
}

impl AssignmentEvent {
    /// Every event.
    pub const ALL: [AssignmentEvent; 4] =
        [Self::SaveDraft, Self::Submit, Self::Recuse, Self::Unassign];

    /// The stable name, such as `SAVE_DRAFT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SaveDraft => "SAVE_DRAFT",
            Self::Submit => "SUBMIT",
            Self::Recuse => "RECUSE",
            Self::Unassign => "UNASSIGN",
        }
    }

    /// The verb in an English sentence about a review, such as `submit`.
    fn verb(self) -> &'static str {
        match self {
            Self::SaveDraft => "save a draft of",
            Self::Submit => "submit",
            Self::Recuse => "recuse from",
            Self::Unassign => "unassign",
        }
    }
}

impl fmt::Display for AssignmentEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event that the assignment's current status does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a review whose assignment is {from}", .event.verb())]
pub struct AssignmentTransitionError {
    /// The status the assignment was in.
    pub from: AssignmentStatus,
    /// The event that was refused.
    pub event: AssignmentEvent,
}

/// The status an assignment moves to when `event` happens in status `from`, or `None` when the
/// event removes the assignment.
///
/// Only an `ASSIGNED` review may change. A submitted review is part of the record the decision
/// rests on, so it cannot be edited, recused from or taken away; a recused reviewer has declared
/// a conflict, so nothing they do afterwards may count.
pub fn assignment_transition(
    from: AssignmentStatus,
    event: AssignmentEvent,
) -> Result<Option<AssignmentStatus>, AssignmentTransitionError> {
    use AssignmentEvent as E;
    use AssignmentStatus as S;
    match (from, event) {
        (S::Assigned, E::SaveDraft) => Ok(Some(S::Assigned)),
        (S::Assigned, E::Submit) => Ok(Some(S::Submitted)),
        (S::Assigned, E::Recuse) => Ok(Some(S::Recused)),
        (S::Assigned, E::Unassign) => Ok(None),
        _ => Err(AssignmentTransitionError { from, event }),
    }
}

/// What the reviewer advises the fund to do with the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recommendation {
    /// Fund it as proposed.
    Fund,
    /// Fund it once the conditions in the reviewer's comment are met.
    FundWithConditions,
    /// Do not fund it.
    DoNotFund,
}

impl Recommendation {
    /// Every recommendation, from most to least favourable.
    pub const ALL: [Recommendation; 3] = [Self::Fund, Self::FundWithConditions, Self::DoNotFund];

    /// The stable name used in the API and the database, such as `FUND_WITH_CONDITIONS`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fund => "FUND",
            Self::FundWithConditions => "FUND_WITH_CONDITIONS",
            Self::DoNotFund => "DO_NOT_FUND",
        }
    }
}

impl fmt::Display for Recommendation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Recommendation {
    type Err = UnknownReviewValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|recommendation| recommendation.as_str() == s)
            .ok_or_else(|| UnknownReviewValue(s.to_owned()))
    }
}

/// One criterion's score as the reviewer gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CriterionScore {
    /// The criterion's key in the call's rubric.
    pub key: String,
    /// From 0 to the criterion's maximum score.
    pub score: u32,
    /// Why the reviewer gave this score, so that applicants and moderators can follow it.
    pub justification: String,
}

/// The longest justification of one score, in characters: enough for a careful page, not a
/// dumping ground.
pub const MAX_JUSTIFICATION_CHARS: usize = 5_000;
/// The longest overall comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 20_000;

/// Why a draft or a submitted review was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// The scores do not fit the call's rubric.
    #[error(transparent)]
    Score(#[from] ScoreError),
    /// A submitted score without a reason: a bare number cannot be explained to the applicant.
    #[error("criterion `{key}` needs a justification")]
    MissingJustification {
        /// The criterion.
        key: String,
    },
    /// A justification over [`MAX_JUSTIFICATION_CHARS`].
    #[error("the justification of criterion `{key}` must be at most {max} characters")]
    JustificationTooLong {
        /// The criterion.
        key: String,
        /// The limit, in characters.
        max: usize,
    },
    /// A comment over [`MAX_COMMENT_CHARS`].
    #[error("the comment must be at most {max} characters")]
    CommentTooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// A submitted review without a recommendation.
    #[error("a submitted review needs a recommendation")]
    MissingRecommendation,
}

impl ReviewError {
    /// The path of the input field to blame, such as `input.scores.feasibility`, so that a form
    /// can show the message next to the right field.
    pub fn field(&self) -> String {
        match self {
            Self::Score(
                ScoreError::MissingScore { key }
                | ScoreError::UnknownCriterion { key }
                | ScoreError::DuplicateScore { key }
                | ScoreError::ScoreAboveMax { key, .. },
            )
            | Self::MissingJustification { key }
            | Self::JustificationTooLong { key, .. } => format!("input.scores.{key}"),
            Self::CommentTooLong { .. } => "input.comment".to_owned(),
            Self::MissingRecommendation => "input.recommendation".to_owned(),
        }
    }
}

/// Checks a draft before it is saved.
///
/// A draft may be partial, since reviewers work over several sittings, but what it holds must
/// already fit the rubric, so that nothing saved can later block the submission for a reason the
/// reviewer was not told about: every score is for a known criterion, given once, within range,
/// and every text is within its length. Empty justifications are allowed.
pub fn check_draft(
    rubric: &Rubric,
    scores: &[CriterionScore],
    comment: Option<&str>,
) -> Result<(), ReviewError> {
    let mut seen = HashSet::new();
    for entry in scores {
        let key = entry.key.as_str();
        let criterion = rubric
            .criterion(key)
            .ok_or_else(|| ScoreError::UnknownCriterion {
                key: key.to_owned(),
            })?;
        if !seen.insert(key) {
            return Err(ScoreError::DuplicateScore {
                key: key.to_owned(),
            }
            .into());
        }
        if entry.score > criterion.max_score {
            return Err(ScoreError::ScoreAboveMax {
                key: key.to_owned(),
                score: entry.score,
                max_score: criterion.max_score,
            }
            .into());
        }
        check_justification_length(entry)?;
    }
    check_comment(comment)
}

/// Checks a review as it is submitted and returns its weighted score in basis points (0 to
/// 10000).
///
/// A submitted review is what the decision rests on, so it must be complete: every criterion
/// scored exactly once and within range (the same rule, and the same errors, as the call's
/// weighted score), each score with a justification that is not blank, a recommendation, and a
/// comment within its length. Justifications are checked in rubric order, so the first field a
/// reviewer sees is the first one blamed.
pub fn check_submission(
    rubric: &Rubric,
    scores: &[CriterionScore],
    recommendation: Option<Recommendation>,
    comment: Option<&str>,
) -> Result<u32, ReviewError> {
    let pairs: Vec<(&str, u32)> = scores
        .iter()
        .map(|entry| (entry.key.as_str(), entry.score))
        .collect();
    let weighted = weighted_score_basis_points(rubric, &pairs)?;
    let in_rubric_order = rubric
        .criteria()
        .iter()
        .filter_map(|criterion| scores.iter().find(|entry| entry.key == criterion.key));
    for entry in in_rubric_order {
        check_justification_length(entry)?;
        if entry.justification.trim().is_empty() {
            return Err(ReviewError::MissingJustification {
                key: entry.key.clone(),
            });
        }
    }
    if recommendation.is_none() {
        return Err(ReviewError::MissingRecommendation);
    }
    check_comment(comment)?;
    Ok(weighted)
}

fn check_justification_length(entry: &CriterionScore) -> Result<(), ReviewError> {
    if longer_than(&entry.justification, MAX_JUSTIFICATION_CHARS) {
        return Err(ReviewError::JustificationTooLong {
            key: entry.key.clone(),
            max: MAX_JUSTIFICATION_CHARS,
        });
    }
    Ok(())
}

fn check_comment(comment: Option<&str>) -> Result<(), ReviewError> {
    match comment {
        Some(text) if longer_than(text, MAX_COMMENT_CHARS) => Err(ReviewError::CommentTooLong {
            max: MAX_COMMENT_CHARS,
        }),
        _ => Ok(()),
    }
}

/// Whether `text` has more than `max` characters. Limits count characters, not bytes, so that a
/// reviewer writing in Chinese gets the same room as one writing in English; a text of at most
/// `max` bytes is short enough without counting.
fn longer_than(text: &str, max: usize) -> bool {
    text.len() > max && text.chars().nth(max).is_some()
}

/// The application's standing from its submitted reviews' scores, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScoreSummary {
    /// How many submitted reviews there are.
    pub count: u32,
    /// Their arithmetic mean, rounded half-up; `None` without reviews.
    pub mean_bp: Option<u32>,
    /// The highest score minus the lowest, which shows how far reviewers disagree; `None`
    /// without reviews and 0 with one.
    pub spread_bp: Option<u32>,
}

/// Summarises the weighted scores of an application's submitted reviews.
///
/// The mean is computed in integers and rounded half-up, like the weighted score itself, so the
/// same reviews always rank the same way.
pub fn summarize(scores_bp: &[u32]) -> ScoreSummary {
    let (Some(&lowest), Some(&highest)) = (scores_bp.iter().min(), scores_bp.iter().max()) else {
        return ScoreSummary::default();
    };
    // A slice of `u32` holds far fewer than 2^32 values in practice, so the sum fits in a u64 and
    // twice the remainder, being below the count, does too.
    let count = scores_bp.len() as u64;
    let sum: u64 = scores_bp.iter().map(|&score| u64::from(score)).sum();
    let rounded_mean = sum / count + u64::from(2 * (sum % count) >= count);
    ScoreSummary {
        count: u32::try_from(scores_bp.len()).unwrap_or(u32::MAX),
        // The mean lies between the lowest and the highest score, so it fits in a u32.
        mean_bp: Some(u32::try_from(rounded_mean).unwrap_or(highest)),
        spread_bp: Some(highest - lowest),
    }
}

/// Whether reviewers disagree enough that a moderator should look before a decision: only when
/// the call sets a threshold, there are scores, and their spread is strictly above it.
pub fn needs_moderation(spread_bp: Option<u32>, threshold_bp: Option<u32>) -> bool {
    matches!((spread_bp, threshold_bp), (Some(spread), Some(threshold)) if spread > threshold)
}

/// One application to staff with reviewers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationToStaff {
    /// The application.
    pub application: Uuid,
    /// Reviewers currently holding an active (`ASSIGNED` or `SUBMITTED`) assignment on it; they
    /// count towards its places and are not assigned again.
    pub assigned: Vec<Uuid>,
    /// Reviewers who may not review it: they declared a conflict of interest, or recused
    /// themselves from it earlier.
    pub excluded: Vec<Uuid>,
}

/// The outcome of [`plan_assignments`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AssignmentPlan {
    /// New `(application, reviewer)` pairs to create, sorted.
    pub assignments: Vec<(Uuid, Uuid)>,
    /// Applications that could not get enough eligible reviewers, with how many are missing,
    /// sorted by application; managers must widen the pool or assign by hand.
    pub unfilled: Vec<(Uuid, u32)>,
}

/// Plans new assignments so that each application has up to `per_application` active reviewers.
///
/// `pool` is who may be assigned and `load` each reviewer's current number of active assignments
/// in the call (missing means 0). Reviewers already on an application count towards its places;
/// a reviewer is never assigned twice to one application, never to one that excludes them, and
/// never from outside the pool. An application that cannot be filled gets every eligible
/// reviewer it can and is reported in [`AssignmentPlan::unfilled`].
///
/// Work is spread as evenly as the exclusions allow: without them, the loads of any two pool
/// reviewers after the plan differ by at most one (when the work suffices to even out the loads
/// they started with). Applications are staffed most constrained first, each with the least
/// loaded eligible reviewers; then new assignments are passed along chains of eligible reviewers
/// from a reviewer with at least two more assignments than another until no chain remains. No
/// chain left means no other plan has a smaller sum of squared loads, a lower highest load or a
/// higher lowest one. Existing assignments are never moved.
///
/// The plan depends only on the input's content, not on the order of `pool` or of
/// `applications`, nor on the map's iteration order: the same call always gets the same plan.
/// Entries for the same application are merged.
pub fn plan_assignments(
    applications: &[ApplicationToStaff],
    pool: &[Uuid],
    load: &HashMap<Uuid, u32>,
    per_application: u32,
) -> AssignmentPlan {
    let mut reviewers = pool.to_vec();
    reviewers.sort_unstable();
    reviewers.dedup();
    let mut loads: Vec<u64> = reviewers
        .iter()
        .map(|reviewer| u64::from(load.get(reviewer).copied().unwrap_or(0)))
        .collect();
    let mut slots = slots(applications, &reviewers, per_application);

    staff_greedily(&mut slots, &mut loads);
    rebalance(&mut slots, &mut loads);

    let mut assignments: Vec<(Uuid, Uuid)> = slots
        .iter()
        .flat_map(|slot| {
            slot.picked
                .iter()
                .map(|&reviewer| (slot.application, reviewers[reviewer]))
        })
        .collect();
    assignments.sort_unstable();
    let unfilled = slots
        .iter()
        .filter(|slot| slot.missing > 0)
        .map(|slot| (slot.application, slot.missing))
        .collect();
    AssignmentPlan {
        assignments,
        unfilled,
    }
}

/// An application as the planner sees it; reviewers are indices into the sorted, deduplicated
/// pool.
struct Slot {
    application: Uuid,
    /// Pool reviewers who may not be added: already on it or excluded. Sorted.
    blocked: Vec<usize>,
    /// How many new reviewers it wants.
    need: u32,
    /// The new reviewers planned so far.
    picked: Vec<usize>,
    /// How many of `need` no eligible reviewer can fill.
    missing: u32,
}

impl Slot {
    fn eligible_count(&self, pool_size: usize) -> usize {
        pool_size - self.blocked.len()
    }

    /// Whether `reviewer` may be added to this application now.
    fn accepts(&self, reviewer: usize) -> bool {
        self.blocked.binary_search(&reviewer).is_err() && !self.picked.contains(&reviewer)
    }
}

/// One slot per distinct application, sorted by application id.
fn slots(
    applications: &[ApplicationToStaff],
    reviewers: &[Uuid],
    per_application: u32,
) -> Vec<Slot> {
    let mut sorted: Vec<&ApplicationToStaff> = applications.iter().collect();
    sorted.sort_by_key(|application| application.application);
    sorted
        .chunk_by(|a, b| a.application == b.application)
        .map(|group| {
            let mut assigned: Vec<Uuid> = group
                .iter()
                .flat_map(|application| application.assigned.iter().copied())
                .collect();
            assigned.sort_unstable();
            assigned.dedup();
            let mut blocked: Vec<usize> = group
                .iter()
                .flat_map(|application| application.assigned.iter().chain(&application.excluded))
                .filter_map(|reviewer| reviewers.binary_search(reviewer).ok())
                .collect();
            blocked.sort_unstable();
            blocked.dedup();
            let active = u32::try_from(assigned.len()).unwrap_or(u32::MAX);
            Slot {
                application: group[0].application,
                blocked,
                need: per_application.saturating_sub(active),
                picked: Vec::new(),
                missing: 0,
            }
        })
        .collect()
}

/// Staffs the applications with fewest eligible reviewers first (then by id), since they have the
/// least choice, each with its least loaded eligible reviewers (then by id).
fn staff_greedily(slots: &mut [Slot], loads: &mut [u64]) {
    let pool_size = loads.len();
    let mut order: Vec<usize> = (0..slots.len()).collect();
    // Slots are sorted by application id, so the index breaks ties by id.
    order.sort_by_key(|&slot| (slots[slot].eligible_count(pool_size), slot));
    let mut candidates: Vec<(u64, usize)> = Vec::with_capacity(pool_size);
    for index in order {
        let slot = &mut slots[index];
        if slot.need == 0 {
            continue;
        }
        candidates.clear();
        let mut blocked = slot.blocked.iter().peekable();
        for (reviewer, &load) in loads.iter().enumerate() {
            if blocked.next_if_eq(&&reviewer).is_none() {
                candidates.push((load, reviewer));
            }
        }
        let eligible = u32::try_from(candidates.len()).unwrap_or(u32::MAX);
        let take = slot.need.min(eligible);
        slot.missing = slot.need - take;
        // `take` is at most the number of candidates, which is a usize.
        let take = take as usize;
        if take < candidates.len() {
            candidates.select_nth_unstable(take);
            candidates.truncate(take);
        }
        candidates.sort_unstable();
        for &(_, reviewer) in &candidates {
            loads[reviewer] += 1;
            slot.picked.push(reviewer);
        }
    }
}

/// One hand-over in a chain: `from` gives its new assignment on `slot` to `to`.
struct Step {
    slot: usize,
    from: usize,
    to: usize,
}

/// Passes new assignments along chains until no reviewer can give one to a reviewer with at
/// least two fewer assignments.
///
/// A chain `H → X → … → T` hands one of H's new assignments to X, one of X's to the next, and so
/// on, each time to a reviewer eligible for that application and not yet on it: only H loses
/// one and only T gains one. Each chain lowers the sum of squared loads by at least two, so this
/// ends; and once no chain remains from any reviewer to one at least two below it, the plan is
/// as even as the exclusions allow. A direct move is the shortest chain. Starting reviewers are
/// tried from the highest load down (then by id), and each one's chain goes to the reachable
/// reviewer with the lowest load (then by id), so the outcome is deterministic.
fn rebalance(slots: &mut [Slot], loads: &mut [u64]) {
    let pool_size = loads.len();
    if !spread_at_least_two(loads) {
        return;
    }
    let mut held: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); pool_size];
    for (index, slot) in slots.iter().enumerate() {
        for &reviewer in &slot.picked {
            held[reviewer].insert(index);
        }
    }
    while spread_at_least_two(loads) {
        let lowest = loads.iter().copied().min().unwrap_or(0);
        let mut givers: Vec<usize> = (0..pool_size)
            .filter(|&reviewer| loads[reviewer] >= lowest + 2 && !held[reviewer].is_empty())
            .collect();
        givers.sort_by_key(|&reviewer| (Reverse(loads[reviewer]), reviewer));
        // A reviewer reachable from a giver that found no chain, with no more load than that
        // giver, cannot find one either: everything it reaches, the giver reaches too.
        let mut hopeless = vec![false; pool_size];
        let mut improved = false;
        for giver in givers {
            if hopeless[giver] {
                continue;
            }
            match find_chain(giver, slots, &held, loads) {
                Ok(chain) => {
                    for step in chain {
                        let picked = &mut slots[step.slot].picked;
                        if let Some(place) = picked.iter().position(|&r| r == step.from) {
                            picked[place] = step.to;
                        }
                        held[step.from].remove(&step.slot);
                        held[step.to].insert(step.slot);
                    }
                    improved = true;
                    break;
                }
                Err(reached) => {
                    for reviewer in 0..pool_size {
                        if reached[reviewer] && loads[reviewer] <= loads[giver] {
                            hopeless[reviewer] = true;
                        }
                    }
                }
            }
        }
        if !improved {
            return;
        }
    }

    fn spread_at_least_two(loads: &[u64]) -> bool {
        match (loads.iter().min(), loads.iter().max()) {
            (Some(&lowest), Some(&highest)) => highest >= lowest + 2,
            _ => false,
        }
    }
}

/// The chain from `giver` to the reachable reviewer with the lowest load (then id) among those at
/// least two below it, with the loads already updated; or, when there is none, which reviewers
/// were reachable.
fn find_chain(
    giver: usize,
    slots: &[Slot],
    held: &[BTreeSet<usize>],
    loads: &mut [u64],
) -> Result<Vec<Step>, Vec<bool>> {
    let pool_size = loads.len();
    let mut reached = vec![false; pool_size];
    let mut came_from: Vec<Option<(usize, usize)>> = vec![None; pool_size];
    reached[giver] = true;
    // Kept in id order, so reviewers are reached in the same order on every run.
    let mut unreached: Vec<usize> = (0..pool_size).filter(|&r| r != giver).collect();
    // Who may take an application does not depend on who gives it, so each is looked at once.
    let mut scanned = vec![false; slots.len()];
    let mut queue = VecDeque::from([giver]);
    'search: while let Some(from) = queue.pop_front() {
        for &slot in &held[from] {
            if std::mem::replace(&mut scanned[slot], true) {
                continue;
            }
            unreached.retain(|&to| {
                if slots[slot].accepts(to) {
                    reached[to] = true;
                    came_from[to] = Some((from, slot));
                    queue.push_back(to);
                    false
                } else {
                    true
                }
            });
            if unreached.is_empty() {
                break 'search;
            }
        }
    }
    let target = (0..pool_size)
        .filter(|&reviewer| reached[reviewer] && loads[reviewer] + 2 <= loads[giver])
        .min_by_key(|&reviewer| (loads[reviewer], reviewer));
    let Some(target) = target else {
        return Err(reached);
    };
    let mut chain = Vec::new();
    let mut to = target;
    while let Some((from, slot)) = came_from[to] {
        chain.push(Step { slot, from, to });
        to = from;
    }
    loads[giver] -= 1;
    loads[target] += 1;
    Ok(chain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::call::Criterion;
    use AssignmentEvent as E;
    use AssignmentStatus as S;

    // ----- assignment life -----

    #[test]
    fn every_status_and_event_has_exactly_the_documented_outcome() {
        let allowed = [
            (S::Assigned, E::SaveDraft, Some(S::Assigned)),
            (S::Assigned, E::Submit, Some(S::Submitted)),
            (S::Assigned, E::Recuse, Some(S::Recused)),
            (S::Assigned, E::Unassign, None),
        ];
        let mut checked = 0;
        for from in S::ALL {
            for event in E::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(assignment_transition(from, event), Ok(to)),
                    None => assert_eq!(
                        assignment_transition(from, event),
                        Err(AssignmentTransitionError { from, event }),
                        "{from} {event}"
                    ),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 12);
    }

    #[test]
    fn submitted_and_recused_assignments_are_final() {
        for from in [S::Submitted, S::Recused] {
            for event in E::ALL {
                assert!(
                    assignment_transition(from, event).is_err(),
                    "{from} {event}"
                );
            }
        }
    }

    #[test]
    fn refusals_say_what_was_tried() {
        let cases = [
            (
                S::Submitted,
                E::Submit,
                "cannot submit a review whose assignment is SUBMITTED",
            ),
            (
                S::Submitted,
                E::SaveDraft,
                "cannot save a draft of a review whose assignment is SUBMITTED",
            ),
            (
                S::Recused,
                E::Recuse,
                "cannot recuse from a review whose assignment is RECUSED",
            ),
            (
                S::Recused,
                E::Unassign,
                "cannot unassign a review whose assignment is RECUSED",
            ),
        ];
        for (from, event, message) in cases {
            assert_eq!(
                assignment_transition(from, event).unwrap_err().to_string(),
                message
            );
        }
    }

    #[test]
    fn statuses_round_trip_and_only_active_ones_are_active() {
        for status in S::ALL {
            assert_eq!(status.as_str().parse::<S>(), Ok(status));
            assert_eq!(status.to_string(), status.as_str());
        }
        assert_eq!(S::ALL.map(S::as_str), ["ASSIGNED", "SUBMITTED", "RECUSED"]);
        assert!(S::Assigned.is_active() && S::Submitted.is_active() && !S::Recused.is_active());
        for unknown in ["assigned", "", "DRAFT", "ASSIGNED "] {
            assert_eq!(
                unknown.parse::<S>(),
                Err(UnknownReviewValue(unknown.to_owned()))
            );
        }
    }

    #[test]
    fn events_have_distinct_stable_names() {
        assert_eq!(
            E::ALL.map(E::as_str),
            ["SAVE_DRAFT", "SUBMIT", "RECUSE", "UNASSIGN"]
        );
        assert_eq!(E::Recuse.to_string(), "RECUSE");
    }

    #[test]
    fn recommendations_round_trip() {
        assert_eq!(
            Recommendation::ALL.map(Recommendation::as_str),
            ["FUND", "FUND_WITH_CONDITIONS", "DO_NOT_FUND"]
        );
        for recommendation in Recommendation::ALL {
            assert_eq!(
                recommendation.as_str().parse::<Recommendation>(),
                Ok(recommendation)
            );
            assert_eq!(recommendation.to_string(), recommendation.as_str());
        }
        let error = "fund".parse::<Recommendation>().unwrap_err();
        assert_eq!(error, UnknownReviewValue("fund".to_owned()));
        assert!(error.to_string().starts_with("`fund` is neither"));
    }

    // ----- drafts and submissions -----

    fn criterion(key: &str, weight: u32, max_score: u32) -> Criterion {
        Criterion {
            key: key.to_owned(),
            name_en: format!("Criterion {key}"),
            name_zh: None,
            description: None,
            weight,
            max_score,
        }
    }

    fn rubric(criteria: &[(&str, u32, u32)]) -> Rubric {
        Rubric::new(
            criteria
                .iter()
                .map(|&(key, weight, max)| criterion(key, weight, max))
                .collect(),
        )
        .unwrap()
    }

    /// Relevance counts three times as much as feasibility.
    fn two_criteria() -> Rubric {
        rubric(&[("relevance", 3, 5), ("feasibility", 1, 10)])
    }

    fn score(key: &str, score: u32, justification: &str) -> CriterionScore {
        CriterionScore {
            key: key.to_owned(),
            score,
            justification: justification.to_owned(),
        }
    }

    fn complete() -> Vec<CriterionScore> {
        vec![
            score("relevance", 4, "Fits the call's focus on water."),
            score("feasibility", 7, "The team has done this before."),
        ]
    }

    #[test]
    fn a_draft_may_be_partial_or_empty() {
        let rubric = two_criteria();
        assert_eq!(check_draft(&rubric, &[], None), Ok(()));
        assert_eq!(
            check_draft(&rubric, &[score("feasibility", 0, "")], None),
            Ok(())
        );
        assert_eq!(
            check_draft(&rubric, &[score("relevance", 5, "   ")], Some("")),
            Ok(())
        );
        assert_eq!(check_draft(&rubric, &complete(), Some("Good.")), Ok(()));
    }

    #[test]
    fn a_draft_refuses_scores_that_do_not_fit_the_rubric() {
        let rubric = two_criteria();
        assert_eq!(
            check_draft(&rubric, &[score("budget", 1, "")], None),
            Err(ReviewError::Score(ScoreError::UnknownCriterion {
                key: "budget".to_owned()
            }))
        );
        assert_eq!(
            check_draft(
                &rubric,
                &[score("relevance", 1, ""), score("relevance", 2, "")],
                None
            ),
            Err(ReviewError::Score(ScoreError::DuplicateScore {
                key: "relevance".to_owned()
            }))
        );
        assert_eq!(
            check_draft(&rubric, &[score("relevance", 5, "")], None),
            Ok(())
        );
        assert_eq!(
            check_draft(&rubric, &[score("relevance", 6, "")], None),
            Err(ReviewError::Score(ScoreError::ScoreAboveMax {
                key: "relevance".to_owned(),
                score: 6,
                max_score: 5
            }))
        );
    }

    #[test]
    fn a_draft_refuses_texts_that_are_too_long_counting_characters() {
        let rubric = two_criteria();
        let longest = "中".repeat(MAX_JUSTIFICATION_CHARS);
        assert_eq!(
            check_draft(&rubric, &[score("relevance", 1, &longest)], None),
            Ok(())
        );
        let too_long = "中".repeat(MAX_JUSTIFICATION_CHARS + 1);
        assert_eq!(
            check_draft(&rubric, &[score("relevance", 1, &too_long)], None),
            Err(ReviewError::JustificationTooLong {
                key: "relevance".to_owned(),
                max: 5_000
            })
        );
        let comment = "中".repeat(MAX_COMMENT_CHARS);
        assert_eq!(check_draft(&rubric, &[], Some(&comment)), Ok(()));
        let comment = "a".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            check_draft(&rubric, &[], Some(&comment)),
            Err(ReviewError::CommentTooLong { max: 20_000 })
        );
    }

    #[test]
    fn a_submission_returns_its_weighted_score() {
        // (3 × 4/5 + 1 × 7/10) / (3 + 1) = (2.4 + 0.7) / 4 = 0.775.
        let water = two_criteria();
        assert_eq!(
            check_submission(&water, &complete(), Some(Recommendation::Fund), None),
            Ok(7_750)
        );
        // The order of the scores does not matter.
        let mut reversed = complete();
        reversed.reverse();
        assert_eq!(
            check_submission(
                &water,
                &reversed,
                Some(Recommendation::DoNotFund),
                Some("ok")
            ),
            Ok(7_750)
        );
        // (1 × 1/80 + 1 × 0/1) / 2 = 0.00625, that is 62.5 basis points, rounded up to 63.
        let tiny = rubric(&[("a", 1, 80), ("b", 1, 1)]);
        let scores = [score("a", 1, "Some."), score("b", 0, "None.")];
        assert_eq!(
            check_submission(
                &tiny,
                &scores,
                Some(Recommendation::FundWithConditions),
                None
            ),
            Ok(63)
        );
    }

    #[test]
    fn a_submission_must_score_every_criterion_within_range() {
        let rubric = two_criteria();
        let fund = Some(Recommendation::Fund);
        assert_eq!(
            check_submission(&rubric, &complete()[..1], fund, None),
            Err(ReviewError::Score(ScoreError::MissingScore {
                key: "feasibility".to_owned()
            }))
        );
        let mut above = complete();
        above[1].score = 11;
        assert_eq!(
            check_submission(&rubric, &above, fund, None),
            Err(ReviewError::Score(ScoreError::ScoreAboveMax {
                key: "feasibility".to_owned(),
                score: 11,
                max_score: 10
            }))
        );
        let mut twice = complete();
        twice.push(score("relevance", 1, "Again."));
        assert_eq!(
            check_submission(&rubric, &twice, fund, None),
            Err(ReviewError::Score(ScoreError::DuplicateScore {
                key: "relevance".to_owned()
            }))
        );
        let mut unknown = complete();
        unknown.push(score("budget", 1, "Cheap."));
        assert_eq!(
            check_submission(&rubric, &unknown, fund, None),
            Err(ReviewError::Score(ScoreError::UnknownCriterion {
                key: "budget".to_owned()
            }))
        );
    }

    #[test]
    fn a_submission_needs_a_justification_for_every_score() {
        let rubric = two_criteria();
        for blank in ["", "   ", "\n\t ", "\u{3000}"] {
            let mut scores = complete();
            scores[1].justification = blank.to_owned();
            assert_eq!(
                check_submission(&rubric, &scores, Some(Recommendation::Fund), None),
                Err(ReviewError::MissingJustification {
                    key: "feasibility".to_owned()
                }),
                "{blank:?}"
            );
        }
        // Blamed in rubric order, whatever the order of the scores.
        let scores = [score("feasibility", 1, ""), score("relevance", 1, "")];
        assert_eq!(
            check_submission(&rubric, &scores, Some(Recommendation::Fund), None),
            Err(ReviewError::MissingJustification {
                key: "relevance".to_owned()
            })
        );
    }

    #[test]
    fn a_submission_refuses_a_justification_that_is_too_long() {
        let rubric = two_criteria();
        let mut scores = complete();
        scores[0].justification = "中".repeat(MAX_JUSTIFICATION_CHARS);
        assert!(check_submission(&rubric, &scores, Some(Recommendation::Fund), None).is_ok());
        scores[0].justification.push('中');
        assert_eq!(
            check_submission(&rubric, &scores, Some(Recommendation::Fund), None),
            Err(ReviewError::JustificationTooLong {
                key: "relevance".to_owned(),
                max: MAX_JUSTIFICATION_CHARS
            })
        );
    }

    #[test]
    fn a_submission_needs_a_recommendation() {
        assert_eq!(
            check_submission(&two_criteria(), &complete(), None, Some("Fine.")),
            Err(ReviewError::MissingRecommendation)
        );
    }

    #[test]
    fn a_submission_refuses_a_comment_that_is_too_long_counting_characters() {
        let rubric = two_criteria();
        let fund = Some(Recommendation::Fund);
        let longest = "中".repeat(MAX_COMMENT_CHARS);
        // 60,000 bytes but 20,000 characters.
        assert_eq!(longest.len(), 3 * MAX_COMMENT_CHARS);
        assert_eq!(
            check_submission(&rubric, &complete(), fund, Some(&longest)),
            Ok(7_750)
        );
        let too_long = "中".repeat(MAX_COMMENT_CHARS + 1);
        assert_eq!(
            check_submission(&rubric, &complete(), fund, Some(&too_long)),
            Err(ReviewError::CommentTooLong {
                max: MAX_COMMENT_CHARS
            })
        );
    }

    #[test]
    fn the_5000th_and_5001st_chinese_characters_are_the_limit() {
        let rubric = rubric(&[("a", 1, 1)]);
        let fund = Some(Recommendation::Fund);
        let ok = [score("a", 1, &"中".repeat(5_000))];
        assert_eq!(check_submission(&rubric, &ok, fund, None), Ok(10_000));
        let refused = [score("a", 1, &"中".repeat(5_001))];
        assert_eq!(
            check_submission(&rubric, &refused, fund, None),
            Err(ReviewError::JustificationTooLong {
                key: "a".to_owned(),
                max: 5_000
            })
        );
    }

    #[test]
    fn errors_name_the_field_to_blame() {
        let key = || "feasibility".to_owned();
        let cases = [
            (
                ReviewError::Score(ScoreError::MissingScore { key: key() }),
                "input.scores.feasibility",
            ),
            (
                ReviewError::Score(ScoreError::UnknownCriterion {
                    key: "budget".to_owned(),
                }),
                "input.scores.budget",
            ),
            (
                ReviewError::Score(ScoreError::DuplicateScore { key: key() }),
                "input.scores.feasibility",
            ),
            (
                ReviewError::Score(ScoreError::ScoreAboveMax {
                    key: key(),
                    score: 11,
                    max_score: 10,
                }),
                "input.scores.feasibility",
            ),
            (
                ReviewError::MissingJustification { key: key() },
                "input.scores.feasibility",
            ),
            (
                ReviewError::JustificationTooLong { key: key(), max: 5 },
                "input.scores.feasibility",
            ),
            (ReviewError::CommentTooLong { max: 5 }, "input.comment"),
            (ReviewError::MissingRecommendation, "input.recommendation"),
        ];
        for (error, field) in cases {
            assert_eq!(error.field(), field, "{error:?}");
        }
    }

    #[test]
    fn score_errors_keep_the_rubric_message() {
        let error = ReviewError::from(ScoreError::MissingScore {
            key: "feasibility".to_owned(),
        });
        assert_eq!(error.to_string(), "criterion `feasibility` has no score");
        assert_eq!(
            ReviewError::JustificationTooLong {
                key: "a".to_owned(),
                max: 5_000
            }
            .to_string(),
            "the justification of criterion `a` must be at most 5000 characters"
        );
    }

    // ----- summaries -----

    #[test]
    fn no_reviews_summarise_to_nothing() {
        assert_eq!(
            summarize(&[]),
            ScoreSummary {
                count: 0,
                mean_bp: None,
                spread_bp: None
            }
        );
    }

    #[test]
    fn one_review_has_no_spread() {
        assert_eq!(
            summarize(&[7_321]),
            ScoreSummary {
                count: 1,
                mean_bp: Some(7_321),
                spread_bp: Some(0)
            }
        );
    }

    #[test]
    fn the_mean_rounds_half_up() {
        let mean = |scores: &[u32]| summarize(scores).mean_bp.unwrap();
        assert_eq!(mean(&[1, 2]), 2); // 1.5
        assert_eq!(mean(&[1, 1, 2]), 1); // 1.33…
        assert_eq!(mean(&[1, 2, 2]), 2); // 1.67…
        assert_eq!(mean(&[0, 0, 0, 1]), 0); // 0.25
        assert_eq!(mean(&[1, 2, 3, 4]), 3); // 2.5
        assert_eq!(mean(&[1, 2, 2, 2]), 2); // 1.75
        assert_eq!(mean(&[0, 10_000]), 5_000);
        assert_eq!(mean(&[6_667, 6_666, 6_666]), 6_666); // 6666.33…
        assert_eq!(mean(&[u32::MAX, u32::MAX, u32::MAX]), u32::MAX);
        assert_eq!(mean(&[u32::MAX, u32::MAX - 1]), u32::MAX); // rounds up to the highest
    }

    #[test]
    fn the_spread_is_the_highest_minus_the_lowest() {
        assert_eq!(
            summarize(&[8_000, 5_500, 9_250]),
            ScoreSummary {
                count: 3,
                mean_bp: Some(7_583), // 7583.33…
                spread_bp: Some(3_750)
            }
        );
        assert_eq!(summarize(&[0, u32::MAX]).spread_bp, Some(u32::MAX));
    }

    #[test]
    fn moderation_is_needed_only_above_a_set_threshold() {
        assert!(!needs_moderation(None, None));
        assert!(!needs_moderation(Some(5_000), None));
        assert!(!needs_moderation(None, Some(0)));
        assert!(!needs_moderation(Some(2_000), Some(2_000)));
        assert!(needs_moderation(Some(2_001), Some(2_000)));
        assert!(!needs_moderation(Some(1_999), Some(2_000)));
        assert!(!needs_moderation(Some(0), Some(0)));
        assert!(needs_moderation(Some(1), Some(0)));
        assert!(!needs_moderation(Some(u32::MAX), Some(u32::MAX)));
    }

    // ----- assignment planning -----

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    /// Applications are numbered from 1000 so they never share an id with a reviewer.
    fn app(n: u128, assigned: &[u128], excluded: &[u128]) -> ApplicationToStaff {
        ApplicationToStaff {
            application: id(1_000 + n),
            assigned: assigned.iter().copied().map(id).collect(),
            excluded: excluded.iter().copied().map(id).collect(),
        }
    }

    fn ids(range: std::ops::Range<u128>) -> Vec<Uuid> {
        range.map(id).collect()
    }

    /// A tiny linear congruential generator, so the tests need no crate and always see the same
    /// numbers.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        fn shuffle<T>(&mut self, items: &mut [T]) {
            for i in (1..items.len()).rev() {
                let j = self.below(i as u64 + 1) as usize;
                items.swap(i, j);
            }
        }
    }

    /// Every reviewer's load after the plan, for the deduplicated pool.
    fn loads_after(
        pool: &[Uuid],
        load: &HashMap<Uuid, u32>,
        plan: &AssignmentPlan,
    ) -> HashMap<Uuid, u64> {
        let mut loads: HashMap<Uuid, u64> = pool
            .iter()
            .map(|r| (*r, u64::from(load.get(r).copied().unwrap_or(0))))
            .collect();
        for (_, reviewer) in &plan.assignments {
            *loads
                .get_mut(reviewer)
                .expect("a reviewer outside the pool") += 1;
        }
        loads
    }

    fn spread(loads: &HashMap<Uuid, u64>) -> u64 {
        let lowest = loads.values().min().copied().unwrap_or(0);
        let highest = loads.values().max().copied().unwrap_or(0);
        highest - lowest
    }

    /// Checks every rule a plan must keep, whatever its input, and returns the loads after it.
    fn check_plan(
        applications: &[ApplicationToStaff],
        pool: &[Uuid],
        load: &HashMap<Uuid, u32>,
        per_application: u32,
        plan: &AssignmentPlan,
    ) -> HashMap<Uuid, u64> {
        let pool_set: HashSet<Uuid> = pool.iter().copied().collect();
        let mut assigned: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
        let mut excluded: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
        for application in applications {
            assigned
                .entry(application.application)
                .or_default()
                .extend(&application.assigned);
            excluded
                .entry(application.application)
                .or_default()
                .extend(&application.excluded);
        }

        assert!(
            plan.assignments.windows(2).all(|w| w[0] < w[1]),
            "assignments must be sorted and distinct"
        );
        assert!(
            plan.unfilled.windows(2).all(|w| w[0].0 < w[1].0),
            "unfilled must be sorted by application"
        );
        let mut new: HashMap<Uuid, HashSet<Uuid>> = HashMap::new();
        for &(application, reviewer) in &plan.assignments {
            assert!(assigned.contains_key(&application), "unknown application");
            assert!(pool_set.contains(&reviewer), "reviewer outside the pool");
            assert!(
                !assigned[&application].contains(&reviewer),
                "already assigned"
            );
            assert!(!excluded[&application].contains(&reviewer), "excluded");
            new.entry(application).or_default().insert(reviewer);
        }
        let unfilled: HashMap<Uuid, u32> = plan.unfilled.iter().copied().collect();
        for (application, on_it) in &assigned {
            let eligible = pool_set
                .iter()
                .filter(|r| !on_it.contains(r) && !excluded[application].contains(r))
                .count() as u32;
            let need = per_application.saturating_sub(on_it.len() as u32);
            let got = new.get(application).map_or(0, HashSet::len) as u32;
            assert_eq!(got, need.min(eligible), "places filled on {application}");
            assert_eq!(
                unfilled.get(application).copied().unwrap_or(0),
                need - got,
                "unfilled count of {application}"
            );
        }
        assert!(unfilled.values().all(|&missing| missing > 0));

        // No reviewer can hand a new assignment directly to one with two fewer.
        let loads = loads_after(pool, load, plan);
        for &(application, giver) in &plan.assignments {
            for taker in &pool_set {
                let free = !assigned[&application].contains(taker)
                    && !excluded[&application].contains(taker)
                    && !new[&application].contains(taker);
                if free {
                    assert!(
                        loads[&giver] <= loads[taker] + 1,
                        "{giver} ({}) could give {application} to {taker} ({})",
                        loads[&giver],
                        loads[taker]
                    );
                }
            }
        }
        loads
    }

    /// The same input in another order, with the loads in a fresh map.
    fn shuffled(
        rng: &mut Lcg,
        applications: &[ApplicationToStaff],
        pool: &[Uuid],
        load: &HashMap<Uuid, u32>,
    ) -> (Vec<ApplicationToStaff>, Vec<Uuid>, HashMap<Uuid, u32>) {
        let mut applications = applications.to_vec();
        rng.shuffle(&mut applications);
        for application in &mut applications {
            rng.shuffle(&mut application.assigned);
            rng.shuffle(&mut application.excluded);
        }
        let mut pool = pool.to_vec();
        rng.shuffle(&mut pool);
        let mut entries: Vec<(Uuid, u32)> = load.iter().map(|(k, v)| (*k, *v)).collect();
        rng.shuffle(&mut entries);
        (applications, pool, entries.into_iter().collect())
    }

    #[test]
    fn forty_applications_get_three_reviewers_each_evenly() {
        let pool = ids(1..8);
        // Eight conflicts, spread deterministically over applications and reviewers.
        let conflicts: Vec<(u128, u128)> = (0..8)
            .map(|i| ((i * 5 + 1) % 40, 1 + (i * 3) % 7))
            .collect();
        let applications: Vec<ApplicationToStaff> = (0..40)
            .map(|n| {
                let excluded: Vec<u128> = conflicts
                    .iter()
                    .filter(|(a, _)| *a == n)
                    .map(|(_, r)| *r)
                    .collect();
                app(n, &[], &excluded)
            })
            .collect();
        assert_eq!(
            applications.iter().map(|a| a.excluded.len()).sum::<usize>(),
            8
        );
        let load = HashMap::new();
        let plan = plan_assignments(&applications, &pool, &load, 3);

        assert_eq!(plan.assignments.len(), 120);
        assert!(plan.unfilled.is_empty());
        for application in &applications {
            let reviewers: HashSet<Uuid> = plan
                .assignments
                .iter()
                .filter(|(a, _)| *a == application.application)
                .map(|(_, r)| *r)
                .collect();
            assert_eq!(reviewers.len(), 3);
            assert!(reviewers.iter().all(|r| !application.excluded.contains(r)));
        }
        let loads = check_plan(&applications, &pool, &load, 3, &plan);
        assert!(spread(&loads) <= 1, "{loads:?}");
        // 120 assignments over 7 reviewers: 17 or 18 each.
        assert!(loads.values().all(|&l| l == 17 || l == 18));

        let mut rng = Lcg(7);
        for _ in 0..10 {
            let (applications, pool, load) = shuffled(&mut rng, &applications, &pool, &load);
            assert_eq!(plan_assignments(&applications, &pool, &load, 3), plan);
        }
    }

    #[test]
    fn existing_assignments_count_towards_the_places() {
        let pool = ids(1..6);
        let applications = [
            app(0, &[1, 2, 3], &[]),
            app(1, &[1], &[]),
            app(2, &[1, 2, 3, 4], &[]),
            // A reviewer who left the pool still holds a place.
            app(3, &[99], &[]),
        ];
        let load = HashMap::from([(id(1), 3), (id(2), 2), (id(3), 2), (id(4), 1), (id(99), 1)]);
        let plan = plan_assignments(&applications, &pool, &load, 3);
        check_plan(&applications, &pool, &load, 3, &plan);
        let on = |n: u128| -> Vec<Uuid> {
            plan.assignments
                .iter()
                .filter(|(a, _)| *a == id(1_000 + n))
                .map(|(_, r)| *r)
                .collect()
        };
        assert!(on(0).is_empty());
        assert!(on(2).is_empty());
        assert_eq!(on(1).len(), 2);
        assert!(!on(1).contains(&id(1)));
        assert_eq!(on(3).len(), 2);
        assert!(!plan.assignments.iter().any(|(_, r)| *r == id(99)));
        assert!(plan.unfilled.is_empty());
        // Reviewer 5 has nothing yet, so takes both applications; reviewer 1, the busiest, none.
        assert!(on(1).contains(&id(5)) && on(3).contains(&id(5)));
        assert!(!plan.assignments.iter().any(|(_, r)| *r == id(1)));
    }

    #[test]
    fn reviewers_with_a_high_load_get_fewer() {
        let pool = ids(1..4);
        let applications: Vec<ApplicationToStaff> = (0..9).map(|n| app(n, &[], &[])).collect();
        let load = HashMap::from([(id(1), 5)]);
        let plan = plan_assignments(&applications, &pool, &load, 1);
        let loads = check_plan(&applications, &pool, &load, 1, &plan);
        assert!(!plan.assignments.iter().any(|(_, r)| *r == id(1)));
        let mut sorted: Vec<u64> = loads.values().copied().collect();
        sorted.sort_unstable();
        assert_eq!(sorted, [4, 5, 5]);
        // Ties go to the lower id: reviewer 2 takes the ninth.
        assert_eq!((loads[&id(2)], loads[&id(3)]), (5, 4));
    }

    #[test]
    fn loads_outside_the_pool_are_ignored() {
        let pool = ids(1..3);
        let applications = [app(0, &[], &[]), app(1, &[], &[])];
        let load = HashMap::from([(id(50), 0), (id(1), 0)]);
        let plan = plan_assignments(&applications, &pool, &load, 1);
        check_plan(&applications, &pool, &load, 1, &plan);
        assert_eq!(plan.assignments, [(id(1_000), id(1)), (id(1_001), id(2))]);
    }

    #[test]
    fn applications_without_enough_eligible_reviewers_are_reported() {
        let pool = ids(1..8);
        let applications = [
            app(0, &[], &[1, 2, 3, 4, 5]),
            app(1, &[], &[1, 2, 3, 4, 5, 6, 7]),
            app(2, &[6], &[1, 2, 3, 4, 5]),
            app(3, &[], &[]),
            // Conflicts with reviewers outside the pool change nothing.
            app(4, &[], &[40, 41, 42, 43, 44, 45, 46, 47]),
        ];
        let load = HashMap::new();
        let plan = plan_assignments(&applications, &pool, &load, 3);
        check_plan(&applications, &pool, &load, 3, &plan);
        assert_eq!(
            plan.unfilled,
            [(id(1_000), 1), (id(1_001), 3), (id(1_002), 1)]
        );
        assert!(plan.assignments.contains(&(id(1_000), id(6))));
        assert!(plan.assignments.contains(&(id(1_000), id(7))));
        assert!(plan.assignments.contains(&(id(1_002), id(7))));
        assert_eq!(plan.assignments.len(), 2 + 1 + 3 + 3);
    }

    #[test]
    fn a_reviewer_who_alone_may_review_many_applications_gets_them_all() {
        let pool = ids(1..5);
        // Reviewer 1 is the only one eligible for applications 0 to 5.
        let mut applications: Vec<ApplicationToStaff> =
            (0..6).map(|n| app(n, &[], &[2, 3, 4])).collect();
        applications.extend((6..9).map(|n| app(n, &[], &[])));
        let load = HashMap::new();

        let plan = plan_assignments(&applications, &pool, &load, 1);
        let loads = check_plan(&applications, &pool, &load, 1, &plan);
        assert!(plan.unfilled.is_empty());
        assert_eq!(plan.assignments.len(), 9);
        assert_eq!(loads[&id(1)], 6);
        assert_eq!((loads[&id(2)], loads[&id(3)], loads[&id(4)]), (1, 1, 1));

        let plan = plan_assignments(&applications, &pool, &load, 2);
        let loads = check_plan(&applications, &pool, &load, 2, &plan);
        assert_eq!(
            plan.unfilled,
            (0..6).map(|n| (id(1_000 + n), 1)).collect::<Vec<_>>()
        );
        assert_eq!(plan.assignments.len(), 6 + 6);
        assert_eq!(loads[&id(1)], 6);
        assert_eq!((loads[&id(2)], loads[&id(3)], loads[&id(4)]), (2, 2, 2));
    }

    #[test]
    fn assignments_pass_along_a_chain_when_no_direct_move_helps() {
        // Everyone starts with 2. Staffing in id order gives reviewer 2 application 0 and
        // reviewer 1 applications 1 and 2: loads 4, 3, 2. Reviewer 1 cannot hand anything to
        // reviewer 3, who is excluded from both of its applications, but it can hand application 1
        // to reviewer 2, who hands application 0 to reviewer 3.
        let pool = ids(1..4);
        let applications = [app(0, &[], &[1]), app(1, &[], &[3]), app(2, &[], &[3])];
        let load: HashMap<Uuid, u32> = pool.iter().map(|r| (*r, 2)).collect();
        let plan = plan_assignments(&applications, &pool, &load, 1);
        let loads = check_plan(&applications, &pool, &load, 1, &plan);
        assert_eq!(
            plan.assignments,
            [(id(1_000), id(3)), (id(1_001), id(2)), (id(1_002), id(1))]
        );
        assert!(loads.values().all(|&l| l == 3), "{loads:?}");
    }

    #[test]
    fn a_chain_repairs_what_a_direct_move_cannot() {
        // Exercise the chain itself: start from an uneven plan and let `rebalance` fix it.
        // Reviewer 0 holds slots 0 and 1, which only 0 and 1 may take; reviewer 1 holds slot 2,
        // which only 1 and 2 may take; reviewer 2 holds nothing. Loads 2, 1, 0: reviewer 0 can
        // reach 2 only through 1.
        let slot = |blocked: Vec<usize>, picked: usize| Slot {
            application: Uuid::nil(),
            blocked,
            need: 1,
            picked: vec![picked],
            missing: 0,
        };
        let mut slots = vec![slot(vec![2], 0), slot(vec![2], 0), slot(vec![0], 1)];
        let mut loads = vec![2, 1, 0];
        rebalance(&mut slots, &mut loads);
        assert_eq!(loads, [1, 1, 1]);
        let mut picked: Vec<usize> = slots.iter().map(|s| s.picked[0]).collect();
        picked.sort_unstable();
        assert_eq!(picked, [0, 1, 2]);
        assert!(
            slots
                .iter()
                .all(|s| s.blocked.binary_search(&s.picked[0]).is_err())
        );
    }

    #[test]
    fn no_places_or_no_pool_plans_nothing() {
        let applications = [app(0, &[], &[]), app(1, &[], &[])];
        let load = HashMap::new();
        assert_eq!(
            plan_assignments(&applications, &ids(1..4), &load, 0),
            AssignmentPlan::default()
        );
        assert_eq!(
            plan_assignments(&applications, &[], &load, 2),
            AssignmentPlan {
                assignments: vec![],
                unfilled: vec![(id(1_000), 2), (id(1_001), 2)]
            }
        );
        assert_eq!(
            plan_assignments(&[], &ids(1..4), &load, 2),
            AssignmentPlan::default()
        );
    }

    #[test]
    fn a_repeated_pool_member_or_application_is_taken_once() {
        let pool = [id(1), id(2), id(1), id(2)];
        let applications = [app(0, &[], &[1]), app(0, &[], &[]), app(1, &[], &[])];
        let load = HashMap::new();
        let plan = plan_assignments(&applications, &pool, &load, 2);
        check_plan(&applications, &pool, &load, 2, &plan);
        assert_eq!(
            plan.assignments,
            [(id(1_000), id(2)), (id(1_001), id(1)), (id(1_001), id(2))]
        );
        assert_eq!(plan.unfilled, [(id(1_000), 1)]);
    }

    /// Pseudo-random inputs of every shape, with and without conflicts and existing work.
    fn random_case(
        rng: &mut Lcg,
        with_constraints: bool,
    ) -> (Vec<ApplicationToStaff>, Vec<Uuid>, HashMap<Uuid, u32>, u32) {
        let reviewers = 1 + rng.below(9) as u128;
        let applications = rng.below(31) as u128;
        let per_application = rng.below(5) as u32;
        let pool = ids(1..1 + reviewers);
        let applications = (0..applications)
            .map(|n| {
                if !with_constraints {
                    return app(n, &[], &[]);
                }
                // Reviewer 0 and reviewers above the pool are outside it.
                let assigned: Vec<u128> = (0..reviewers + 3).filter(|_| rng.chance(10)).collect();
                let excluded: Vec<u128> = (0..reviewers + 3).filter(|_| rng.chance(25)).collect();
                app(n, &assigned, &excluded)
            })
            .collect();
        let mut load = HashMap::new();
        if with_constraints {
            for r in 0..reviewers + 3 {
                if rng.chance(50) {
                    load.insert(id(r), rng.below(6) as u32);
                }
            }
        }
        (applications, pool, load, per_application)
    }

    #[test]
    fn random_plans_keep_every_rule() {
        let mut rng = Lcg(2_024);
        for case in 0..600 {
            let with_constraints = case % 3 != 0;
            let (applications, pool, load, per_application) =
                random_case(&mut rng, with_constraints);
            let plan = plan_assignments(&applications, &pool, &load, per_application);
            let loads = check_plan(&applications, &pool, &load, per_application, &plan);
            if !with_constraints {
                assert!(spread(&loads) <= 1, "case {case}: {loads:?}");
                assert!(plan.unfilled.is_empty() || pool.len() < per_application as usize);
            }
            let (applications, pool, load) = shuffled(&mut rng, &applications, &pool, &load);
            assert_eq!(
                plan_assignments(&applications, &pool, &load, per_application),
                plan,
                "case {case} depends on input order"
            );
        }
    }

    /// Every way to staff the applications, for tiny inputs, by brute force: the least possible
    /// sum of squared loads and the least possible spread.
    fn best_possible(
        applications: &[ApplicationToStaff],
        pool: &[Uuid],
        load: &HashMap<Uuid, u32>,
        per_application: u32,
    ) -> (u64, u64) {
        let start: Vec<u64> = pool
            .iter()
            .map(|r| u64::from(load.get(r).copied().unwrap_or(0)))
            .collect();
        // For each application, every subset of its eligible reviewers of the size it gets.
        let choices: Vec<Vec<Vec<usize>>> = applications
            .iter()
            .map(|a| {
                let eligible: Vec<usize> = (0..pool.len())
                    .filter(|&r| !a.assigned.contains(&pool[r]) && !a.excluded.contains(&pool[r]))
                    .collect();
                let take = (per_application.saturating_sub(a.assigned.len() as u32) as usize)
                    .min(eligible.len());
                (0_u32..1 << eligible.len())
                    .filter(|mask| mask.count_ones() as usize == take)
                    .map(|mask| {
                        (0..eligible.len())
                            .filter(|i| mask & (1 << i) != 0)
                            .map(|i| eligible[i])
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut best = (u64::MAX, u64::MAX);
        let mut loads = start.clone();
        fn explore(choices: &[Vec<Vec<usize>>], loads: &mut Vec<u64>, best: &mut (u64, u64)) {
            let Some((first, rest)) = choices.split_first() else {
                let squares = loads.iter().map(|l| l * l).sum();
                let spread = loads.iter().max().unwrap() - loads.iter().min().unwrap();
                *best = (best.0.min(squares), best.1.min(spread));
                return;
            };
            for choice in first {
                for &r in choice {
                    loads[r] += 1;
                }
                explore(rest, loads, best);
                for &r in choice {
                    loads[r] -= 1;
                }
            }
        }
        explore(&choices, &mut loads, &mut best);
        best
    }

    #[test]
    fn tiny_plans_are_as_even_as_any_plan_can_be() {
        let mut rng = Lcg(99);
        for case in 0..400 {
            let reviewers = 1 + rng.below(4) as u128;
            let pool = ids(1..1 + reviewers);
            let per_application = 1 + rng.below(2) as u32;
            let applications: Vec<ApplicationToStaff> = (0..1 + rng.below(5) as u128)
                .map(|n| {
                    let assigned: Vec<u128> = (1..=reviewers).filter(|_| rng.chance(10)).collect();
                    let excluded: Vec<u128> = (1..=reviewers)
                        .filter(|r| !assigned.contains(r) && rng.chance(40))
                        .collect();
                    app(n, &assigned, &excluded)
                })
                .collect();
            let load: HashMap<Uuid, u32> = pool.iter().map(|r| (*r, rng.below(4) as u32)).collect();
            let plan = plan_assignments(&applications, &pool, &load, per_application);
            let loads = check_plan(&applications, &pool, &load, per_application, &plan);
            let squares: u64 = loads.values().map(|l| l * l).sum();
            let (best_squares, best_spread) =
                best_possible(&applications, &pool, &load, per_application);
            assert_eq!(
                squares, best_squares,
                "case {case}: {applications:?} {load:?}"
            );
            assert_eq!(
                spread(&loads),
                best_spread,
                "case {case}: {applications:?} {load:?}"
            );
        }
    }

    #[test]
    fn ten_thousand_applications_are_planned_in_balance() {
        let pool = ids(1..51);
        let mut rng = Lcg(10_000);
        let applications: Vec<ApplicationToStaff> = (0..10_000)
            .map(|n| {
                let excluded: Vec<u128> = (1..51).filter(|_| rng.chance(4)).collect();
                app(n, &[], &excluded)
            })
            .collect();
        let load: HashMap<Uuid, u32> = (1..51).map(|r| (id(r), (r % 4) as u32)).collect();
        let plan = plan_assignments(&applications, &pool, &load, 3);
        assert_eq!(plan.assignments.len(), 30_000);
        assert!(plan.unfilled.is_empty());
        let loads = loads_after(&pool, &load, &plan);
        assert!(spread(&loads) <= 1, "{loads:?}");
    }
}
