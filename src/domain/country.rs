//! Countries are identified by ISO 3166-1 alpha-2 codes so that eligibility rules ("host country
//! in a set"), registry identifiers and reports all speak the same, closed vocabulary.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::locale::Locale;

/// An officially assigned ISO 3166-1 alpha-2 country code, such as `CN` or `KE`.
///
/// User-assigned codes (`XK`, `AA`, `QM`–`QZ`, `XA`–`XZ`, `ZZ`) and reserved ones (`UK`, `EU`)
/// are refused: they mean different things to different systems.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CountryCode(&'static Country);

#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Country {
    code: &'static str,
    english: &'static str,
    chinese: &'static str,
}

/// Why a country code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountryCodeError {
    /// The text is not two ASCII letters.
    #[error("`{0}` is not a country code: use the two-letter ISO 3166-1 code, such as CN or KE")]
    Malformed(String),
    /// Two letters, but not an officially assigned code.
    #[error(
        "`{0}` is not an officially assigned ISO 3166-1 country code (the United Kingdom is GB)"
    )]
    NotAssigned(String),
}

impl CountryCode {
    /// China, whose organisations are identified by their Unified Social Credit Identifier.
    pub const CN: CountryCode = CountryCode(&COUNTRIES[CHINA_INDEX]);

    /// Parses a two-letter code; lowercase input is accepted and normalised to uppercase.
    pub fn parse(code: &str) -> Result<CountryCode, CountryCodeError> {
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(CountryCodeError::Malformed(code.to_owned()));
        }
        let upper = code.to_ascii_uppercase();
        COUNTRIES
            .binary_search_by(|country| country.code.cmp(upper.as_str()))
            .ok()
            .and_then(|index| COUNTRIES.get(index))
            .map(CountryCode)
            .ok_or(CountryCodeError::NotAssigned(upper))
    }

    /// Every officially assigned code, in alphabetical order.
    pub fn all() -> impl Iterator<Item = CountryCode> {
        COUNTRIES.iter().map(CountryCode)
    }

    /// The uppercase two-letter code.
    pub fn as_str(self) -> &'static str {
        self.0.code
    }

    /// The ISO 3166-1 English short name, such as `Tanzania, United Republic of`.
    pub fn english_name(self) -> &'static str {
        self.0.english
    }

    /// The Chinese short name in mainland usage (GB/T 2659), such as `坦桑尼亚`.
    pub fn chinese_name(self) -> &'static str {
        self.0.chinese
    }

    /// The name in the reader's language.
    pub fn name(self, locale: Locale) -> &'static str {
        match locale {
            Locale::En => self.english_name(),
            Locale::ZhCn => self.chinese_name(),
        }
    }
}

impl fmt::Debug for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CountryCode").field(&self.as_str()).finish()
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CountryCode {
    type Err = CountryCodeError;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        CountryCode::parse(code)
    }
}

impl TryFrom<String> for CountryCode {
    type Error = CountryCodeError;

    fn try_from(code: String) -> Result<Self, Self::Error> {
        CountryCode::parse(&code)
    }
}

impl From<CountryCode> for String {
    fn from(country: CountryCode) -> Self {
        country.as_str().to_owned()
    }
}

const fn country(code: &'static str, english: &'static str, chinese: &'static str) -> Country {
    Country {
        code,
        english,
        chinese,
    }
}

/// Where `CN` sits in [`COUNTRIES`]; a test keeps it honest.
const CHINA_INDEX: usize = 47;

/// The 249 officially assigned ISO 3166-1 alpha-2 codes, sorted by code for binary search.
///
/// English names are the ISO short names; Chinese names follow mainland usage.
static COUNTRIES: [Country; 249] = [
    country("AD", "Andorra", "安道尔"),
    country("AE", "United Arab Emirates", "阿联酋"),
    country("AF", "Afghanistan", "阿富汗"),
    country("AG", "Antigua and Barbuda", "安提瓜和巴布达"),
    country("AI", "Anguilla", "安圭拉"),
    country("AL", "Albania", "阿尔巴尼亚"),
    country("AM", "Armenia", "亚美尼亚"),
    country("AO", "Angola", "安哥拉"),
    country("AQ", "Antarctica", "南极洲"),
    country("AR", "Argentina", "阿根廷"),
    country("AS", "American Samoa", "美属萨摩亚"),
    country("AT", "Austria", "奥地利"),
    country("AU", "Australia", "澳大利亚"),
    country("AW", "Aruba", "阿鲁巴"),
    country("AX", "Åland Islands", "奥兰群岛"),
    country("AZ", "Azerbaijan", "阿塞拜疆"),
    country("BA", "Bosnia and Herzegovina", "波斯尼亚和黑塞哥维那"),
    country("BB", "Barbados", "巴巴多斯"),
    country("BD", "Bangladesh", "孟加拉国"),
    country("BE", "Belgium", "比利时"),
    country("BF", "Burkina Faso", "布基纳法索"),
    country("BG", "Bulgaria", "保加利亚"),
    country("BH", "Bahrain", "巴林"),
    country("BI", "Burundi", "布隆迪"),
    country("BJ", "Benin", "贝宁"),
    country("BL", "Saint Barthélemy", "圣巴泰勒米"),
    country("BM", "Bermuda", "百慕大"),
    country("BN", "Brunei Darussalam", "文莱"),
    country("BO", "Bolivia, Plurinational State of", "玻利维亚"),
    country(
        "BQ",
        "Bonaire, Sint Eustatius and Saba",
        "博奈尔、圣尤斯特歇斯和萨巴",
    ),
    country("BR", "Brazil", "巴西"),
    country("BS", "Bahamas", "巴哈马"),
    country("BT", "Bhutan", "不丹"),
    country("BV", "Bouvet Island", "布韦岛"),
    country("BW", "Botswana", "博茨瓦纳"),
    country("BY", "Belarus", "白俄罗斯"),
    country("BZ", "Belize", "伯利兹"),
    country("CA", "Canada", "加拿大"),
    country("CC", "Cocos (Keeling) Islands", "科科斯（基林）群岛"),
    country("CD", "Congo, The Democratic Republic of the", "刚果（金）"),
    country("CF", "Central African Republic", "中非"),
    country("CG", "Congo", "刚果（布）"),
    country("CH", "Switzerland", "瑞士"),
    country("CI", "Côte d'Ivoire", "科特迪瓦"),
    country("CK", "Cook Islands", "库克群岛"),
    country("CL", "Chile", "智利"),
    country("CM", "Cameroon", "喀麦隆"),
    country("CN", "China", "中国"),
    country("CO", "Colombia", "哥伦比亚"),
    country("CR", "Costa Rica", "哥斯达黎加"),
    country("CU", "Cuba", "古巴"),
    country("CV", "Cabo Verde", "佛得角"),
    country("CW", "Curaçao", "库拉索"),
    country("CX", "Christmas Island", "圣诞岛"),
    country("CY", "Cyprus", "塞浦路斯"),
    country("CZ", "Czechia", "捷克"),
    country("DE", "Germany", "德国"),
    country("DJ", "Djibouti", "吉布提"),
    country("DK", "Denmark", "丹麦"),
    country("DM", "Dominica", "多米尼克"),
    country("DO", "Dominican Republic", "多米尼加"),
    country("DZ", "Algeria", "阿尔及利亚"),
    country("EC", "Ecuador", "厄瓜多尔"),
    country("EE", "Estonia", "爱沙尼亚"),
    country("EG", "Egypt", "埃及"),
    country("EH", "Western Sahara", "西撒哈拉"),
    country("ER", "Eritrea", "厄立特里亚"),
    country("ES", "Spain", "西班牙"),
    country("ET", "Ethiopia", "埃塞俄比亚"),
    country("FI", "Finland", "芬兰"),
    country("FJ", "Fiji", "斐济"),
    country(
        "FK",
        "Falkland Islands (Malvinas)",
        "福克兰群岛（马尔维纳斯）",
    ),
    country("FM", "Micronesia, Federated States of", "密克罗尼西亚联邦"),
    country("FO", "Faroe Islands", "法罗群岛"),
    country("FR", "France", "法国"),
    country("GA", "Gabon", "加蓬"),
    country("GB", "United Kingdom", "英国"),
    country("GD", "Grenada", "格林纳达"),
    country("GE", "Georgia", "格鲁吉亚"),
    country("GF", "French Guiana", "法属圭亚那"),
    country("GG", "Guernsey", "根西"),
    country("GH", "Ghana", "加纳"),
    country("GI", "Gibraltar", "直布罗陀"),
    country("GL", "Greenland", "格陵兰"),
    country("GM", "Gambia", "冈比亚"),
    country("GN", "Guinea", "几内亚"),
    country("GP", "Guadeloupe", "瓜德罗普"),
    country("GQ", "Equatorial Guinea", "赤道几内亚"),
    country("GR", "Greece", "希腊"),
    country(
        "GS",
        "South Georgia and the South Sandwich Islands",
        "南乔治亚和南桑威奇群岛",
    ),
    country("GT", "Guatemala", "危地马拉"),
    country("GU", "Guam", "关岛"),
    country("GW", "Guinea-Bissau", "几内亚比绍"),
    country("GY", "Guyana", "圭亚那"),
    country("HK", "Hong Kong", "中国香港"),
    country(
        "HM",
        "Heard Island and McDonald Islands",
        "赫德岛和麦克唐纳群岛",
    ),
    country("HN", "Honduras", "洪都拉斯"),
    country("HR", "Croatia", "克罗地亚"),
    country("HT", "Haiti", "海地"),
    country("HU", "Hungary", "匈牙利"),
    country("ID", "Indonesia", "印度尼西亚"),
    country("IE", "Ireland", "爱尔兰"),
    country("IL", "Israel", "以色列"),
    country("IM", "Isle of Man", "马恩岛"),
    country("IN", "India", "印度"),
    country("IO", "British Indian Ocean Territory", "英属印度洋领地"),
    country("IQ", "Iraq", "伊拉克"),
    country("IR", "Iran, Islamic Republic of", "伊朗"),
    country("IS", "Iceland", "冰岛"),
    country("IT", "Italy", "意大利"),
    country("JE", "Jersey", "泽西"),
    country("JM", "Jamaica", "牙买加"),
    country("JO", "Jordan", "约旦"),
    country("JP", "Japan", "日本"),
    country("KE", "Kenya", "肯尼亚"),
    country("KG", "Kyrgyzstan", "吉尔吉斯斯坦"),
    country("KH", "Cambodia", "柬埔寨"),
    country("KI", "Kiribati", "基里巴斯"),
    country("KM", "Comoros", "科摩罗"),
    country("KN", "Saint Kitts and Nevis", "圣基茨和尼维斯"),
    country("KP", "Korea, Democratic People's Republic of", "朝鲜"),
    country("KR", "Korea, Republic of", "韩国"),
    country("KW", "Kuwait", "科威特"),
    country("KY", "Cayman Islands", "开曼群岛"),
    country("KZ", "Kazakhstan", "哈萨克斯坦"),
    country("LA", "Lao People's Democratic Republic", "老挝"),
    country("LB", "Lebanon", "黎巴嫩"),
    country("LC", "Saint Lucia", "圣卢西亚"),
    country("LI", "Liechtenstein", "列支敦士登"),
    country("LK", "Sri Lanka", "斯里兰卡"),
    country("LR", "Liberia", "利比里亚"),
    country("LS", "Lesotho", "莱索托"),
    country("LT", "Lithuania", "立陶宛"),
    country("LU", "Luxembourg", "卢森堡"),
    country("LV", "Latvia", "拉脱维亚"),
    country("LY", "Libya", "利比亚"),
    country("MA", "Morocco", "摩洛哥"),
    country("MC", "Monaco", "摩纳哥"),
    country("MD", "Moldova, Republic of", "摩尔多瓦"),
    country("ME", "Montenegro", "黑山"),
    country("MF", "Saint Martin (French part)", "法属圣马丁"),
    country("MG", "Madagascar", "马达加斯加"),
    country("MH", "Marshall Islands", "马绍尔群岛"),
    country("MK", "North Macedonia", "北马其顿"),
    country("ML", "Mali", "马里"),
    country("MM", "Myanmar", "缅甸"),
    country("MN", "Mongolia", "蒙古"),
    country("MO", "Macao", "中国澳门"),
    country("MP", "Northern Mariana Islands", "北马里亚纳群岛"),
    country("MQ", "Martinique", "马提尼克"),
    country("MR", "Mauritania", "毛里塔尼亚"),
    country("MS", "Montserrat", "蒙特塞拉特"),
    country("MT", "Malta", "马尔他"),
    country("MU", "Mauritius", "毛里求斯"),
    country("MV", "Maldives", "马尔代夫"),
    country("MW", "Malawi", "马拉维"),
    country("MX", "Mexico", "墨西哥"),
    country("MY", "Malaysia", "马来西亚"),
    country("MZ", "Mozambique", "莫桑比克"),
    country("NA", "Namibia", "纳米比亚"),
    country("NC", "New Caledonia", "新喀里多尼亚"),
    country("NE", "Niger", "尼日尔"),
    country("NF", "Norfolk Island", "诺福克岛"),
    country("NG", "Nigeria", "尼日利亚"),
    country("NI", "Nicaragua", "尼加拉瓜"),
    country("NL", "Netherlands", "荷兰"),
    country("NO", "Norway", "挪威"),
    country("NP", "Nepal", "尼泊尔"),
    country("NR", "Nauru", "瑙鲁"),
    country("NU", "Niue", "纽埃"),
    country("NZ", "New Zealand", "新西兰"),
    country("OM", "Oman", "阿曼"),
    country("PA", "Panama", "巴拿马"),
    country("PE", "Peru", "秘鲁"),
    country("PF", "French Polynesia", "法属波利尼西亚"),
    country("PG", "Papua New Guinea", "巴布亚新几内亚"),
    country("PH", "Philippines", "菲律宾"),
    country("PK", "Pakistan", "巴基斯坦"),
    country("PL", "Poland", "波兰"),
    country("PM", "Saint Pierre and Miquelon", "圣皮埃尔和密克隆"),
    country("PN", "Pitcairn", "皮特凯恩群岛"),
    country("PR", "Puerto Rico", "波多黎各"),
    country("PS", "Palestine, State of", "巴勒斯坦"),
    country("PT", "Portugal", "葡萄牙"),
    country("PW", "Palau", "帕劳"),
    country("PY", "Paraguay", "巴拉圭"),
    country("QA", "Qatar", "卡塔尔"),
    country("RE", "Réunion", "留尼汪"),
    country("RO", "Romania", "罗马尼亚"),
    country("RS", "Serbia", "塞尔维亚"),
    country("RU", "Russian Federation", "俄罗斯"),
    country("RW", "Rwanda", "卢旺达"),
    country("SA", "Saudi Arabia", "沙特阿拉伯"),
    country("SB", "Solomon Islands", "所罗门群岛"),
    country("SC", "Seychelles", "塞舌尔"),
    country("SD", "Sudan", "苏丹"),
    country("SE", "Sweden", "瑞典"),
    country("SG", "Singapore", "新加坡"),
    country(
        "SH",
        "Saint Helena, Ascension and Tristan da Cunha",
        "圣赫勒拿、阿森松和特里斯坦-达库尼亚",
    ),
    country("SI", "Slovenia", "斯洛文尼亚"),
    country("SJ", "Svalbard and Jan Mayen", "斯瓦尔巴和扬马延"),
    country("SK", "Slovakia", "斯洛伐克"),
    country("SL", "Sierra Leone", "塞拉利昂"),
    country("SM", "San Marino", "圣马力诺"),
    country("SN", "Senegal", "塞内加尔"),
    country("SO", "Somalia", "索马里"),
    country("SR", "Suriname", "苏里南"),
    country("SS", "South Sudan", "南苏丹"),
    country("ST", "Sao Tome and Principe", "圣多美和普林西比"),
    country("SV", "El Salvador", "萨尔瓦多"),
    country("SX", "Sint Maarten (Dutch part)", "荷属圣马丁"),
    country("SY", "Syrian Arab Republic", "叙利亚"),
    country("SZ", "Eswatini", "斯威士兰"),
    country("TC", "Turks and Caicos Islands", "特克斯和凯科斯群岛"),
    country("TD", "Chad", "乍得"),
    country("TF", "French Southern Territories", "法属南部领地"),
    country("TG", "Togo", "多哥"),
    country("TH", "Thailand", "泰国"),
    country("TJ", "Tajikistan", "塔吉克斯坦"),
    country("TK", "Tokelau", "托克劳"),
    country("TL", "Timor-Leste", "东帝汶"),
    country("TM", "Turkmenistan", "土库曼斯坦"),
    country("TN", "Tunisia", "突尼斯"),
    country("TO", "Tonga", "汤加"),
    country("TR", "Türkiye", "土耳其"),
    country("TT", "Trinidad and Tobago", "特里尼达和多巴哥"),
    country("TV", "Tuvalu", "图瓦卢"),
    country("TW", "Taiwan, Province of China", "中国台湾"),
    country("TZ", "Tanzania, United Republic of", "坦桑尼亚"),
    country("UA", "Ukraine", "乌克兰"),
    country("UG", "Uganda", "乌干达"),
    country(
        "UM",
        "United States Minor Outlying Islands",
        "美国本土外小岛屿",
    ),
    country("US", "United States", "美国"),
    country("UY", "Uruguay", "乌拉圭"),
    country("UZ", "Uzbekistan", "乌兹别克斯坦"),
    country("VA", "Holy See (Vatican City State)", "梵蒂冈"),
    country(
        "VC",
        "Saint Vincent and the Grenadines",
        "圣文森特和格林纳丁斯",
    ),
    country("VE", "Venezuela, Bolivarian Republic of", "委内瑞拉"),
    country("VG", "Virgin Islands, British", "英属维尔京群岛"),
    country("VI", "Virgin Islands, U.S.", "美属维尔京群岛"),
    country("VN", "Viet Nam", "越南"),
    country("VU", "Vanuatu", "瓦努阿图"),
    country("WF", "Wallis and Futuna", "瓦利斯和富图纳"),
    country("WS", "Samoa", "萨摩亚"),
    country("YE", "Yemen", "也门"),
    country("YT", "Mayotte", "马约特"),
    country("ZA", "South Africa", "南非"),
    country("ZM", "Zambia", "赞比亚"),
    country("ZW", "Zimbabwe", "津巴布韦"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> CountryCode {
        CountryCode::parse(text).unwrap()
    }

    #[test]
    fn the_table_holds_249_sorted_unique_uppercase_codes() {
        assert_eq!(COUNTRIES.len(), 249);
        for pair in COUNTRIES.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} before {}",
                pair[0].code,
                pair[1].code
            );
        }
        for country in &COUNTRIES {
            assert_eq!(country.code.len(), 2);
            assert!(country.code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(!country.english.is_empty(), "{}", country.code);
            assert!(!country.chinese.is_empty(), "{}", country.code);
            assert!(!country.chinese.is_ascii(), "{}", country.code);
        }
        assert_eq!(CountryCode::all().count(), 249);
    }

    #[test]
    fn the_china_constant_is_china() {
        assert_eq!(CountryCode::CN, code("CN"));
        assert_eq!(CountryCode::CN.as_str(), "CN");
        assert_eq!(CountryCode::CN.english_name(), "China");
        assert_eq!(CountryCode::CN.chinese_name(), "中国");
    }

    #[test]
    fn codes_parse_and_know_their_names() {
        let kenya = code("KE");
        assert_eq!(kenya.as_str(), "KE");
        assert_eq!(kenya.english_name(), "Kenya");
        assert_eq!(kenya.chinese_name(), "肯尼亚");
        assert_eq!(code("GB").english_name(), "United Kingdom");
        assert_eq!(code("KH").chinese_name(), "柬埔寨");
        assert_eq!(code("TZ").english_name(), "Tanzania, United Republic of");
        assert_eq!(code("CI").english_name(), "Côte d'Ivoire");
        assert_eq!(code("SS").english_name(), "South Sudan");
    }

    #[test]
    fn the_name_follows_the_locale() {
        let ethiopia = code("ET");
        assert_eq!(ethiopia.name(Locale::En), "Ethiopia");
        assert_eq!(ethiopia.name(Locale::ZhCn), "埃塞俄比亚");
    }

    #[test]
    fn lowercase_codes_are_normalised_to_uppercase() {
        assert_eq!(code("cn"), CountryCode::CN);
        assert_eq!(code("Ke").as_str(), "KE");
        assert_eq!("np".parse::<CountryCode>(), Ok(code("NP")));
    }

    #[test]
    fn user_assigned_and_reserved_codes_are_refused() {
        for text in [
            "XK", "UK", "EU", "AA", "QM", "QZ", "XA", "XZ", "ZZ", "EZ", "UN", "TP",
        ] {
            assert_eq!(
                CountryCode::parse(text),
                Err(CountryCodeError::NotAssigned(text.to_owned())),
                "{text}"
            );
        }
        assert_eq!(
            CountryCode::parse("uk"),
            Err(CountryCodeError::NotAssigned("UK".to_owned()))
        );
    }

    #[test]
    fn empty_wrong_length_and_non_letter_codes_are_refused() {
        for text in ["", "C", "CHN", "156", "C1", " CN", "CN ", "中国", "ÇN"] {
            assert_eq!(
                CountryCode::parse(text),
                Err(CountryCodeError::Malformed(text.to_owned())),
                "{text:?}"
            );
        }
    }

    #[test]
    fn codes_display_compare_and_hash_by_code() {
        use std::collections::HashSet;

        assert_eq!(code("BR").to_string(), "BR");
        assert_eq!(format!("{:?}", code("BR")), "CountryCode(\"BR\")");
        assert!(code("AD") < code("ZW"));
        assert!(code("CN") < code("KE"));
        let set: HashSet<CountryCode> = ["ke", "KE", "Ke"].iter().map(|t| code(t)).collect();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn codes_deserialise_from_strings() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};

        let parsed = CountryCode::deserialize::<StrDeserializer<Error>>("ug".into_deserializer());
        assert_eq!(parsed.unwrap(), code("UG"));
        let refused = CountryCode::deserialize::<StrDeserializer<Error>>("XK".into_deserializer());
        assert!(refused.is_err());
        assert_eq!(String::from(code("UG")), "UG");
    }

    #[test]
    fn the_error_message_points_the_united_kingdom_to_gb() {
        let message = CountryCode::parse("UK").unwrap_err().to_string();
        assert!(message.contains("GB"), "{message}");
    }
}
