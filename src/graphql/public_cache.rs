//! Answers to anonymous reads of public data (the open calls, a call), kept for a few seconds and
//! shared by every anonymous reader.
//!
//! The public list of open calls is the most requested document of all, and its answer is the
//! same for everyone who is not signed in: resolving it anew for each visitor is most of what the
//! public site costs. Only whole, error-free answers of public reads (see
//! [`super::limits::PUBLIC_ROOT_FIELDS`]) are kept, by the exact document, variables and operation
//! name. A change shows within the configured seconds, on every instance; signed-in readers never
//! see a kept answer.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;

/// Answers kept at most; when full, expired ones go first, and if none has expired, all.
const KEPT_ANSWERS: usize = 64;
/// Larger answers are not kept.
const KEPT_ANSWER_BYTES: usize = 128 * 1024;
/// Requests whose document and variables are longer are answered afresh: with the two limits
/// above, what anonymous clients can make the cache hold stays under 9 MB.
const KEY_BYTES: usize = 8 * 1024;

struct Kept {
    body: Bytes,
    expires: DateTime<Utc>,
}

pub struct PublicCache {
    ttl: Duration,
    clock: Clock,
    answers: Mutex<HashMap<String, Kept>>,
}

impl PublicCache {
    pub fn new(seconds: u32, clock: Clock) -> Self {
        PublicCache {
            ttl: Duration::seconds(i64::from(seconds)),
            clock,
            answers: Mutex::new(HashMap::new()),
        }
    }

    /// The key of a request whose answer may be kept: none when keeping is off, the request
    /// carries files, or its document and variables are too long to keep.
    pub fn key(&self, request: &async_graphql::Request) -> Option<String> {
        if self.ttl <= Duration::zero()
            || !request.uploads.is_empty()
            || request.query.len() > KEY_BYTES
        {
            return None;
        }
        let variables = serde_json::to_string(&request.variables).ok()?;
        let key = format!(
            "{}\u{0}{}\u{0}{:?}",
            request.query, variables, request.operation_name
        );
        (key.len() <= KEY_BYTES).then_some(key)
    }

    /// The kept answer for `key`, if it has not expired.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        let now = self.clock.now();
        self.lock()
            .get(key)
            .filter(|kept| kept.expires > now)
            .map(|kept| kept.body.clone())
    }

    pub fn keep(&self, key: String, body: Bytes) {
        if body.len() > KEPT_ANSWER_BYTES {
            return;
        }
        let now = self.clock.now();
        let mut answers = self.lock();
        // Answers are kept once per key and lifetime, so this sweep is rare and short.
        answers.retain(|_, kept| kept.expires > now);
        if answers.len() >= KEPT_ANSWERS {
            answers.clear();
        }
        answers.insert(
            key,
            Kept {
                body,
                expires: now + self.ttl,
            },
        );
    }

    /// The map holds only complete entries, so a panic elsewhere cannot leave it inconsistent.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        self.answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(query: &str, variables: serde_json::Value) -> async_graphql::Request {
        async_graphql::Request::new(query).variables(async_graphql::Variables::from_json(variables))
    }

    #[test]
    fn an_answer_is_kept_until_it_expires() {
        let clock = Clock::manual(Utc::now());
        let cache = PublicCache::new(5, clock.clone());
        let key = cache
            .key(&request("{ apiVersion }", serde_json::json!({})))
            .expect("keeping is on");
        assert_eq!(cache.get(&key), None);
        cache.keep(key.clone(), Bytes::from_static(b"{}"));
        assert_eq!(cache.get(&key), Some(Bytes::from_static(b"{}")));
        clock.advance(Duration::seconds(4));
        assert!(cache.get(&key).is_some());
        clock.advance(Duration::seconds(1));
        assert_eq!(cache.get(&key), None);
    }

    #[test]
    fn variables_and_operation_names_are_part_of_the_key() {
        let cache = PublicCache::new(5, Clock::manual(Utc::now()));
        let query =
            "query A($id: ID!) { call(id: $id) { id } } query B($id: ID!) { call(id: $id) { id } }";
        let one = cache.key(&request(query, serde_json::json!({ "id": "1" })));
        let two = cache.key(&request(query, serde_json::json!({ "id": "2" })));
        let named =
            cache.key(&request(query, serde_json::json!({ "id": "1" })).operation_name("B"));
        assert_ne!(one, two);
        assert_ne!(one, named);
    }

    #[test]
    fn long_documents_and_variables_are_never_kept() {
        let cache = PublicCache::new(5, Clock::manual(Utc::now()));
        let padded = format!("{{ apiVersion }} #{}", "x".repeat(KEY_BYTES));
        assert_eq!(cache.key(&request(&padded, serde_json::json!({}))), None);
        let big = serde_json::json!({ "pad": "x".repeat(KEY_BYTES) });
        assert_eq!(cache.key(&request("{ apiVersion }", big)), None);
        let unnamed = cache.key(&request("{ apiVersion }", serde_json::json!({})));
        let empty_name =
            cache.key(&request("{ apiVersion }", serde_json::json!({})).operation_name(""));
        assert_ne!(unnamed, empty_name);
    }

    #[test]
    fn expired_answers_are_dropped_when_another_is_kept() {
        let clock = Clock::manual(Utc::now());
        let cache = PublicCache::new(5, clock.clone());
        cache.keep("old".into(), Bytes::from_static(b"{}"));
        clock.advance(Duration::seconds(6));
        cache.keep("new".into(), Bytes::from_static(b"{}"));
        assert_eq!(cache.lock().len(), 1);
    }

    #[test]
    fn nothing_is_kept_when_keeping_is_off() {
        let cache = PublicCache::new(0, Clock::manual(Utc::now()));
        assert_eq!(
            cache.key(&request("{ apiVersion }", serde_json::json!({}))),
            None
        );
    }

    #[test]
    fn the_cache_is_bounded_and_large_answers_are_not_kept() {
        let clock = Clock::manual(Utc::now());
        let cache = PublicCache::new(5, clock.clone());
        for n in 0..(KEPT_ANSWERS * 2 + 3) {
            cache.keep(format!("key {n}"), Bytes::from_static(b"{}"));
            assert!(cache.lock().len() <= KEPT_ANSWERS);
        }
        cache.keep(
            "large".into(),
            Bytes::from(vec![b' '; KEPT_ANSWER_BYTES + 1]),
        );
        assert_eq!(cache.get("large"), None);
    }
}
