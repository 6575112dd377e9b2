//! Generated events for `dvt produce --generate`: the DVD-rental store of
//! the example project, as a stream.
//!
//! - `rentals`: a rental is created, and returned some days later (a few
//!   never are), with the amount due on return: the film's rental rate plus
//!   1.00 a day past its rental duration, as in the dvdrental data.
//! - `payments`: the payment of each returned rental of that same
//!   simulation, so that `rentals` and `payments` under one seed agree.
//! - `clicks`: page views and actions of web sessions, some by a signed-in
//!   customer.
//!
//! Ids, customers, inventory, films and stores stay within the example
//! project's seeds (599 customers, 4,581 inventory items of 1,000 films in 2
//! stores), and new rental and payment ids start after theirs. Business
//! times run on a simulated clock from 2006-02-15 (the seeds end on
//! 2006-02-14). Everything but `event_time`, the wall-clock time the event is
//! produced (also the Kafka timestamp, for end-to-end freshness), is
//! determined by the seed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::record::Record;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Rentals,
    Payments,
    Clicks,
}

impl EventKind {
    /// The fields of every event, in order.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            EventKind::Rentals => &[
                "event_type",
                "rental_id",
                "inventory_id",
                "film_id",
                "customer_id",
                "staff_id",
                "store_id",
                "rental_date",
                "return_date",
                "rental_rate",
                "amount",
                "event_time",
            ],
            EventKind::Payments => &[
                "event_type",
                "payment_id",
                "rental_id",
                "customer_id",
                "staff_id",
                "amount",
                "currency",
                "method",
                "payment_date",
                "event_time",
            ],
            EventKind::Clicks => &[
                "event_type",
                "click_id",
                "session_id",
                "customer_id",
                "page",
                "film_id",
                "referrer",
                "device",
                "event_time",
            ],
        }
    }

    /// The field that keys a message by default, so that the events of one
    /// entity stay in order on one partition.
    pub fn default_key(self) -> &'static str {
        match self {
            EventKind::Rentals => "rental_id",
            EventKind::Payments => "customer_id",
            EventKind::Clicks => "session_id",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            EventKind::Rentals => "rentals",
            EventKind::Payments => "payments",
            EventKind::Clicks => "clicks",
        }
    }
}

/// SplitMix64: small, fast, and the same sequence on every platform, which
/// is all that deterministic test data needs.
#[derive(Debug, Clone)]
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    }

    /// A number in `low..=high`.
    fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = (high - low + 1) as u64;
        low + (self.next() % span) as i64
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, choices: &[&'a str]) -> &'a str {
        choices[(self.next() % choices.len() as u64) as usize]
    }
}

const CUSTOMERS: i64 = 599;
const INVENTORY: i64 = 4_581;
const FILMS: i64 = 1_000;
/// The seeds' rentals and payments end below these ids.
const FIRST_RENTAL_ID: i64 = 20_001;
const FIRST_PAYMENT_ID: i64 = 20_001;
/// 2006-02-15T09:00:00Z, the morning after the seeds' last rental.
const SIMULATION_START: i64 = 1_139_994_000;
const DAY: i64 = 86_400;

/// A film's facts, derived from its id as the seeds spread them: rental
/// rates of 0.99, 2.99 and 4.99 and durations of 3 to 7 days.
fn film_of(inventory_id: i64) -> (i64, i64, i64) {
    let film_id = (inventory_id - 1) * FILMS / INVENTORY + 1;
    let rate_cents = [99, 299, 499][(film_id % 3) as usize];
    let duration_days = 3 + film_id % 5;
    (film_id, rate_cents, duration_days)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Rental {
    /// First, so that the heap of open rentals pops the next return.
    returned_at: i64,
    rental_id: i64,
    inventory_id: i64,
    customer_id: i64,
    rented_at: i64,
}

impl Rental {
    fn store_id(&self) -> i64 {
        // The seeds' first half of the inventory is in store 1; each store has one staff member.
        if self.inventory_id <= INVENTORY / 2 {
            1
        } else {
            2
        }
    }

    /// The amount due on return: the rate, plus 1.00 a day late.
    fn amount_cents(&self) -> i64 {
        let (_, rate_cents, duration_days) = film_of(self.inventory_id);
        let days = (self.returned_at - self.rented_at + DAY - 1) / DAY;
        rate_cents + (days - duration_days).max(0) * 100
    }
}

enum RentalEvent {
    Created(Rental),
    Returned(Rental),
}

/// The rental desk: new rentals on a clock that advances 1 to 59 s between
/// them, and each rental's return once the clock passes it.
#[derive(Debug, Clone)]
struct RentalDesk {
    random: Random,
    clock: i64,
    next_rental_id: i64,
    open: BinaryHeap<Reverse<Rental>>,
}

impl RentalDesk {
    fn new(seed: u64) -> Self {
        Self {
            random: Random(seed),
            clock: SIMULATION_START,
            next_rental_id: FIRST_RENTAL_ID,
            open: BinaryHeap::new(),
        }
    }

    fn step(&mut self) -> RentalEvent {
        if self
            .open
            .peek()
            .is_some_and(|Reverse(next)| next.returned_at <= self.clock)
        {
            if let Some(Reverse(rental)) = self.open.pop() {
                return RentalEvent::Returned(rental);
            }
        }
        self.clock += self.random.between(1, 59);
        let inventory_id = self.random.between(1, INVENTORY);
        let (_, _, duration_days) = film_of(inventory_id);
        let rental = Rental {
            // Most come back within the rental duration, some up to 4 days late.
            returned_at: self.clock + self.random.between(DAY / 4, (duration_days + 4) * DAY),
            rental_id: self.next_rental_id,
            inventory_id,
            customer_id: self.random.between(1, CUSTOMERS),
            rented_at: self.clock,
        };
        self.next_rental_id += 1;
        // About 1 in 100 is never returned, as in the seeds.
        if !self.random.chance(1) {
            self.open.push(Reverse(rental.clone()));
        }
        RentalEvent::Created(rental)
    }
}

#[derive(Debug, Clone)]
struct Session {
    id: String,
    customer_id: Option<i64>,
    device: &'static str,
    referrer: &'static str,
    clicks_left: u32,
    film_id: i64,
}

/// Web sessions, about 200 at a time, each a run of clicks.
#[derive(Debug, Clone)]
struct Website {
    random: Random,
    next_click_id: i64,
    sessions: Vec<Session>,
}

const OPEN_SESSIONS: usize = 200;

impl Website {
    fn new(seed: u64) -> Self {
        Self {
            random: Random(seed),
            next_click_id: 1,
            sessions: Vec::with_capacity(OPEN_SESSIONS),
        }
    }

    fn new_session(&mut self) -> Session {
        let random = &mut self.random;
        Session {
            id: format!("{:016x}", random.next()),
            customer_id: random.chance(70).then(|| random.between(1, CUSTOMERS)),
            device: random.pick(&["desktop", "desktop", "mobile", "mobile", "mobile", "tablet"]),
            referrer: random.pick(&[
                "https://www.google.com/",
                "https://www.google.com/",
                "https://www.bing.com/",
                "https://www.facebook.com/",
                "https://newsletter.dvdrental.example/",
                "",
            ]),
            clicks_left: random.between(1, 30) as u32,
            film_id: random.between(1, FILMS),
        }
    }

    fn write(&mut self, record: &mut Record, event_time: &str) {
        if self.sessions.len() < OPEN_SESSIONS {
            let session = self.new_session();
            self.sessions.push(session);
        }
        let index = (self.random.next() % self.sessions.len() as u64) as usize;
        let event_type = self.random.pick(&[
            "page_view",
            "page_view",
            "page_view",
            "page_view",
            "page_view",
            "search",
            "add_to_watchlist",
            "rent_click",
        ]);
        let browsed_film = self.random.between(1, FILMS);
        let session = &mut self.sessions[index];
        if event_type == "page_view" {
            session.film_id = browsed_film;
        }
        record.text("event_type", event_type);
        record.integer("click_id", self.next_click_id);
        record.text("session_id", &session.id);
        match session.customer_id {
            Some(customer_id) => record.integer("customer_id", customer_id),
            None => record.null("customer_id"),
        }
        if event_type == "search" {
            record.text("page", "/search");
            record.null("film_id");
        } else {
            record.text("page", &format!("/films/{}", session.film_id));
            record.integer("film_id", session.film_id);
        }
        match session.referrer {
            "" => record.null("referrer"),
            referrer => record.text("referrer", referrer),
        }
        record.text("device", session.device);
        record.text("event_time", event_time);
        self.next_click_id += 1;
        session.clicks_left -= 1;
        if session.clicks_left == 0 {
            self.sessions.swap_remove(index);
        }
    }
}

/// A stream of generated events of one kind.
#[derive(Debug, Clone)]
pub struct Generator {
    kind: EventKind,
    desk: RentalDesk,
    website: Website,
    /// Separate from the desk's, so that payments follow the same rentals
    /// as `rentals` under the same seed.
    payment_random: Random,
    next_payment_id: i64,
}

impl Generator {
    pub fn new(kind: EventKind, seed: u64) -> Self {
        Self {
            kind,
            desk: RentalDesk::new(seed),
            website: Website::new(seed),
            payment_random: Random(!seed),
            next_payment_id: FIRST_PAYMENT_ID,
        }
    }

    /// Writes the next event into `record` (between its `begin` and `end`),
    /// with `event_time` as given.
    pub fn write_next(&mut self, record: &mut Record, event_time: &str) {
        record.begin();
        match self.kind {
            EventKind::Rentals => self.write_rental(record, event_time),
            EventKind::Payments => self.write_payment(record, event_time),
            EventKind::Clicks => self.website.write(record, event_time),
        }
        record.end();
    }

    fn write_rental(&mut self, record: &mut Record, event_time: &str) {
        let (event_type, rental, returned) = match self.desk.step() {
            RentalEvent::Created(rental) => ("rental_created", rental, false),
            RentalEvent::Returned(rental) => ("rental_returned", rental, true),
        };
        let (film_id, rate_cents, _) = film_of(rental.inventory_id);
        record.text("event_type", event_type);
        record.integer("rental_id", rental.rental_id);
        record.integer("inventory_id", rental.inventory_id);
        record.integer("film_id", film_id);
        record.integer("customer_id", rental.customer_id);
        record.integer("staff_id", rental.store_id());
        record.integer("store_id", rental.store_id());
        record.timestamp("rental_date", rental.rented_at);
        if returned {
            record.timestamp("return_date", rental.returned_at);
        } else {
            record.null("return_date");
        }
        record.cents("rental_rate", rate_cents);
        if returned {
            record.cents("amount", rental.amount_cents());
        } else {
            record.null("amount");
        }
        record.text("event_time", event_time);
    }

    fn write_payment(&mut self, record: &mut Record, event_time: &str) {
        let rental = loop {
            if let RentalEvent::Returned(rental) = self.desk.step() {
                break rental;
            }
        };
        let method = self.payment_random.pick(&["card", "card", "card", "cash", "gift_card"]);
        record.text("event_type", "payment");
        record.integer("payment_id", self.next_payment_id);
        record.integer("rental_id", rental.rental_id);
        record.integer("customer_id", rental.customer_id);
        record.integer("staff_id", rental.store_id());
        record.cents("amount", rental.amount_cents());
        record.text("currency", "USD");
        record.text("method", method);
        record.timestamp("payment_date", rental.returned_at);
        record.text("event_time", event_time);
        self.next_payment_id += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use serde_json::{Map, Value};

    use super::*;

    const EVENT_TIME: &str = "2024-05-01T12:00:00.123Z";

    fn events(kind: EventKind, seed: u64, count: usize) -> Vec<(Option<String>, Map<String, Value>)> {
        let mut generator = Generator::new(kind, seed);
        let mut record = Record::new(Some(kind.default_key()));
        (0..count)
            .map(|_| {
                generator.write_next(&mut record, EVENT_TIME);
                let value: Value = serde_json::from_str(record.payload())
                    .unwrap_or_else(|error| panic!("{error}: {}", record.payload()));
                let Value::Object(object) = value else {
                    panic!("not an object: {}", record.payload())
                };
                (record.key().map(str::to_string), object)
            })
            .collect()
    }

    fn number(object: &Map<String, Value>, field: &str) -> f64 {
        object[field]
            .as_f64()
            .unwrap_or_else(|| panic!("`{field}` is not a number in {object:?}"))
    }

    #[test]
    fn every_kind_writes_its_fields_in_order_in_about_200_bytes() {
        for kind in [EventKind::Rentals, EventKind::Payments, EventKind::Clicks] {
            let mut generator = Generator::new(kind, 7);
            let mut record = Record::new(None);
            let mut total = 0;
            for _ in 0..2_000 {
                generator.write_next(&mut record, EVENT_TIME);
                let object: Map<String, Value> = serde_json::from_str(record.payload()).expect("JSON");
                let fields: Vec<&str> = object.keys().map(String::as_str).collect();
                assert_eq!(fields, kind.fields(), "{kind:?}");
                assert_eq!(object["event_time"], EVENT_TIME);
                total += record.payload().len();
            }
            let average = total / 2_000;
            assert!((150..=260).contains(&average), "{kind:?}: {average} bytes on average");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_events_and_another_seed_others() {
        for kind in [EventKind::Rentals, EventKind::Payments, EventKind::Clicks] {
            assert_eq!(events(kind, 42, 500), events(kind, 42, 500), "{kind:?}");
            assert_ne!(events(kind, 42, 500), events(kind, 43, 500), "{kind:?}");
        }
    }

    #[test]
    fn rentals_are_created_then_returned_with_the_amount_due() {
        let rentals = events(EventKind::Rentals, 1, 20_000);
        let mut created: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        let mut returned = 0;
        for (key, event) in &rentals {
            let rental_id = event["rental_id"].to_string();
            assert_eq!(key.as_deref(), Some(rental_id.as_str()));
            assert!((1..=CUSTOMERS).contains(&(number(event, "customer_id") as i64)));
            assert!((1..=INVENTORY).contains(&(number(event, "inventory_id") as i64)));
            assert!((1..=FILMS).contains(&(number(event, "film_id") as i64)));
            assert_eq!(event["staff_id"], event["store_id"]);
            match event["event_type"].as_str() {
                Some("rental_created") => {
                    assert!(number(event, "rental_id") >= FIRST_RENTAL_ID as f64);
                    assert_eq!(event["return_date"], Value::Null);
                    assert_eq!(event["amount"], Value::Null);
                    assert!(
                        created.insert(rental_id, event.clone()).is_none(),
                        "a rental created twice"
                    );
                }
                Some("rental_returned") => {
                    returned += 1;
                    let rented = created.remove(&rental_id).expect("returned after it was created");
                    assert_eq!(rented["rental_date"], event["rental_date"]);
                    assert_eq!(rented["customer_id"], event["customer_id"]);
                    let rental_date = event["rental_date"].as_str().expect("a date");
                    let return_date = event["return_date"].as_str().expect("a date");
                    assert!(return_date > rental_date, "{return_date} <= {rental_date}");
                    // The rate, plus whole dollars for late days.
                    let extra = number(event, "amount") - number(event, "rental_rate");
                    assert!(extra >= 0.0 && (extra - extra.round()).abs() < 1e-9, "{event:?}");
                }
                other => panic!("unexpected event type {other:?}"),
            }
        }
        // The clock advances 30 s per rental on average, so returns
        // (after 6 h to 11 days) run days behind: a quarter so far.
        assert!(
            (3_000..10_000).contains(&returned),
            "{returned} returned of 20,000 events"
        );
        let rates: BTreeSet<String> = rentals
            .iter()
            .map(|(_, event)| event["rental_rate"].to_string())
            .collect();
        assert_eq!(rates, BTreeSet::from(["0.99".into(), "2.99".into(), "4.99".into()]));
    }

    #[test]
    fn payments_pay_for_the_returned_rentals_of_the_same_seed() {
        let returned: Vec<(Value, Value, Value)> = events(EventKind::Rentals, 9, 10_000)
            .into_iter()
            .filter(|(_, event)| event["event_type"] == "rental_returned")
            .map(|(_, event)| {
                (
                    event["rental_id"].clone(),
                    event["customer_id"].clone(),
                    event["amount"].clone(),
                )
            })
            .collect();
        let payments = events(EventKind::Payments, 9, returned.len());
        for ((key, payment), (rental_id, customer_id, amount)) in payments.iter().zip(&returned) {
            assert_eq!(&payment["rental_id"], rental_id);
            assert_eq!(&payment["customer_id"], customer_id);
            assert_eq!(&payment["amount"], amount);
            assert_eq!(key.as_deref(), Some(customer_id.to_string().as_str()));
        }
        let ids: BTreeSet<i64> = payments
            .iter()
            .map(|(_, payment)| number(payment, "payment_id") as i64)
            .collect();
        assert_eq!(ids.len(), payments.len());
        assert_eq!(ids.first(), Some(&FIRST_PAYMENT_ID));
    }

    #[test]
    fn clicks_belong_to_sessions_of_one_customer_each() {
        let clicks = events(EventKind::Clicks, 3, 10_000);
        let mut customers: BTreeMap<String, Value> = BTreeMap::new();
        let mut anonymous = 0;
        for (key, click) in &clicks {
            let session = click["session_id"].as_str().expect("a session id");
            assert_eq!(key.as_deref(), Some(session));
            assert_eq!(session.len(), 16);
            let customer = customers
                .entry(session.to_string())
                .or_insert(click["customer_id"].clone());
            assert_eq!(customer, &click["customer_id"], "a session changed customer");
            anonymous += usize::from(click["customer_id"].is_null());
            if click["event_type"] == "search" {
                assert_eq!(click["page"], "/search");
            } else {
                assert_eq!(click["page"], format!("/films/{}", click["film_id"]));
            }
        }
        assert!(customers.len() > 500, "{} sessions", customers.len());
        assert!((1_000..5_000).contains(&anonymous), "{anonymous} anonymous clicks");
    }
}
