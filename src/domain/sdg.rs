//! Calls and applications are framed by the UN Sustainable Development Goals; a goal is a number
//! from 1 to 17 so that calls and applications can be matched and reported on without free text.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::locale::Locale;

/// One of the 17 UN Sustainable Development Goals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct SdgGoal(u8);

/// Why a goal number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdgGoalError {
    /// Outside 1..=17.
    #[error("{0} is not a Sustainable Development Goal: goals are numbered 1 to 17")]
    OutOfRange(u8),
}

/// The official short titles in English and Chinese, indexed by goal number minus one.
const TITLES: [(&str, &str); 17] = [
    ("No Poverty", "无贫穷"),
    ("Zero Hunger", "零饥饿"),
    ("Good Health and Well-being", "良好健康与福祉"),
    ("Quality Education", "优质教育"),
    ("Gender Equality", "性别平等"),
    ("Clean Water and Sanitation", "清洁饮水和卫生设施"),
    ("Affordable and Clean Energy", "经济适用的清洁能源"),
    ("Decent Work and Economic Growth", "体面工作和经济增长"),
    (
        "Industry, Innovation and Infrastructure",
        "产业、创新和基础设施",
    ),
    ("Reduced Inequalities", "减少不平等"),
    ("Sustainable Cities and Communities", "可持续城市和社区"),
    ("Responsible Consumption and Production", "负责任消费和生产"),
    ("Climate Action", "气候行动"),
    ("Life Below Water", "水下生物"),
    ("Life on Land", "陆地生物"),
    (
        "Peace, Justice and Strong Institutions",
        "和平、正义与强大机构",
    ),
    ("Partnerships for the Goals", "促进目标实现的伙伴关系"),
];

impl SdgGoal {
    /// The goal numbered `number`, 1 to 17.
    pub fn new(number: u8) -> Result<SdgGoal, SdgGoalError> {
        if (1..=17).contains(&number) {
            Ok(SdgGoal(number))
        } else {
            Err(SdgGoalError::OutOfRange(number))
        }
    }

    /// All 17 goals, in order.
    pub fn all() -> impl Iterator<Item = SdgGoal> {
        (1..=17).map(SdgGoal)
    }

    /// The goal's number, 1 to 17.
    pub fn number(self) -> u8 {
        self.0
    }

    /// The official English short title, such as `No Poverty`.
    pub fn english_title(self) -> &'static str {
        self.titles().0
    }

    /// The official Chinese short title, such as `无贫穷`.
    pub fn chinese_title(self) -> &'static str {
        self.titles().1
    }

    /// The title in the reader's language.
    pub fn title(self, locale: Locale) -> &'static str {
        match locale {
            Locale::En => self.english_title(),
            Locale::ZhCn => self.chinese_title(),
        }
    }

    fn titles(self) -> (&'static str, &'static str) {
        // The constructor keeps the number in 1..=17, so the lookup always succeeds.
        TITLES
            .get(usize::from(self.0).wrapping_sub(1))
            .copied()
            .unwrap_or(("", ""))
    }
}

impl fmt::Display for SdgGoal {
    /// `SDG 1`, the usual way to cite a goal.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SDG {}", self.0)
    }
}

impl TryFrom<u8> for SdgGoal {
    type Error = SdgGoalError;

    fn try_from(number: u8) -> Result<Self, Self::Error> {
        SdgGoal::new(number)
    }
}

impl From<SdgGoal> for u8 {
    fn from(goal: SdgGoal) -> Self {
        goal.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goal(number: u8) -> SdgGoal {
        SdgGoal::new(number).unwrap()
    }

    #[test]
    fn goals_one_to_seventeen_exist() {
        let numbers: Vec<u8> = SdgGoal::all().map(SdgGoal::number).collect();
        assert_eq!(numbers, (1..=17).collect::<Vec<u8>>());
        for number in 1..=17 {
            assert_eq!(goal(number).number(), number);
        }
    }

    #[test]
    fn numbers_outside_one_to_seventeen_are_refused() {
        for number in [0, 18, 100, u8::MAX] {
            assert_eq!(SdgGoal::new(number), Err(SdgGoalError::OutOfRange(number)));
        }
    }

    #[test]
    fn goals_have_their_official_english_titles() {
        assert_eq!(goal(1).english_title(), "No Poverty");
        assert_eq!(goal(2).english_title(), "Zero Hunger");
        assert_eq!(goal(3).english_title(), "Good Health and Well-being");
        assert_eq!(goal(6).english_title(), "Clean Water and Sanitation");
        assert_eq!(goal(10).english_title(), "Reduced Inequalities");
        assert_eq!(
            goal(16).english_title(),
            "Peace, Justice and Strong Institutions"
        );
        assert_eq!(goal(17).english_title(), "Partnerships for the Goals");
    }

    #[test]
    fn every_goal_has_distinct_titles_in_both_languages() {
        use std::collections::HashSet;

        let english: HashSet<&str> = SdgGoal::all().map(SdgGoal::english_title).collect();
        let chinese: HashSet<&str> = SdgGoal::all().map(SdgGoal::chinese_title).collect();
        assert_eq!(english.len(), 17);
        assert_eq!(chinese.len(), 17);
        assert!(
            english
                .iter()
                .all(|title| !title.is_empty() && title.is_ascii())
        );
        assert!(chinese.iter().all(|title| !title.is_ascii()));
    }

    #[test]
    fn the_title_follows_the_locale() {
        assert_eq!(goal(4).title(Locale::En), "Quality Education");
        assert_eq!(goal(4).title(Locale::ZhCn), "优质教育");
        assert_eq!(goal(13).title(Locale::ZhCn), "气候行动");
    }

    #[test]
    fn a_goal_displays_as_its_citation() {
        assert_eq!(goal(5).to_string(), "SDG 5");
    }

    #[test]
    fn goals_order_by_number() {
        assert!(goal(1) < goal(2));
        assert!(goal(17) > goal(9));
    }

    #[test]
    fn goals_serialise_as_their_number() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, U8Deserializer};

        let parsed = SdgGoal::deserialize::<U8Deserializer<Error>>(7_u8.into_deserializer());
        assert_eq!(parsed.unwrap(), goal(7));
        let refused = SdgGoal::deserialize::<U8Deserializer<Error>>(18_u8.into_deserializer());
        assert!(refused.is_err());
        assert_eq!(u8::from(goal(7)), 7);
    }

    #[test]
    fn the_error_message_gives_the_valid_range() {
        assert_eq!(
            SdgGoalError::OutOfRange(18).to_string(),
            "18 is not a Sustainable Development Goal: goals are numbered 1 to 17"
        );
    }
}
