#!/usr/bin/env python3
"""Generate the seed CSVs for the dvdrental example project.

The tables follow the shape of the classic PostgreSQL `dvdrental` sample
database (film, actor, customer, rental, payment, ...). The data is synthetic
and fully deterministic: one `random.Random(42)` stream, consumed in a fixed
order, so every run writes the same bytes.

    python3 scripts/generate_seeds.py                  # default scale into seeds/
    python3 scripts/generate_seeds.py --scale 100 --out /tmp/bigseeds

`--scale N` multiplies customers, rentals and payments (and the addresses the
extra customers live at). Films, actors, stores, staff and inventory stay the
same size, so N=100 gives about 1.6 million rentals for benchmarks.

Standard library only (Python 3.11).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
from array import array
from pathlib import Path

SEED = 42

# Row counts at scale 1, close to the original dvdrental database.
FILM_COUNT = 1000
ACTOR_COUNT = 200
CUSTOMER_COUNT = 599
CITY_COUNT = 600
RENTAL_COUNT = 16_044
PAYMENT_SHARE = 0.92  # share of returned rentals that have a payment row

# The original database stamps each table with one last_update value.
LAST_UPDATE = {
    "film": "2013-05-26 14:50:58",
    "category": "2006-02-15 09:46:27",
    "film_category": "2006-02-15 10:07:09",
    "language": "2006-02-15 10:02:19",
    "actor": "2013-05-26 14:47:57",
    "film_actor": "2006-02-15 10:05:03",
    "customer": "2013-05-26 14:49:45",
    "address": "2006-02-15 09:45:30",
    "city": "2006-02-15 09:45:25",
    "country": "2006-02-15 09:44:00",
    "store": "2006-02-15 09:57:12",
    "staff": "2006-05-16 16:13:11",
    "inventory": "2006-02-15 10:09:17",
}

LANGUAGES = ["English", "Italian", "Japanese", "Mandarin", "French", "German"]

CATEGORIES = [
    "Action", "Animation", "Children", "Classics", "Comedy", "Documentary",
    "Drama", "Family", "Foreign", "Games", "Horror", "Music", "New",
    "Sci-Fi", "Sports", "Travel",
]

COUNTRIES = [
    "Afghanistan", "Algeria", "American Samoa", "Angola", "Anguilla",
    "Argentina", "Armenia", "Australia", "Austria", "Azerbaijan", "Bahrain",
    "Bangladesh", "Belarus", "Bolivia", "Brazil", "Brunei", "Bulgaria",
    "Cambodia", "Cameroon", "Canada", "Chad", "Chile", "China", "Colombia",
    "Congo, The Democratic Republic of the", "Czech Republic",
    "Dominican Republic", "Ecuador", "Egypt", "Estonia", "Ethiopia",
    "Faroe Islands", "Finland", "France", "French Guiana", "French Polynesia",
    "Gambia", "Germany", "Greece", "Greenland",
    "Holy See (Vatican City State)", "Hong Kong", "Hungary", "India",
    "Indonesia", "Iran", "Iraq", "Israel", "Italy", "Japan", "Kazakstan",
    "Kenya", "Kuwait", "Latvia", "Liechtenstein", "Lithuania", "Madagascar",
    "Malawi", "Malaysia", "Mexico", "Moldova", "Morocco", "Mozambique",
    "Myanmar", "Nauru", "Nepal", "Netherlands", "New Zealand", "Nigeria",
    "North Korea", "Oman", "Pakistan", "Paraguay", "Peru", "Philippines",
    "Poland", "Puerto Rico", "Romania", "Runion", "Russian Federation",
    "Saint Vincent and the Grenadines", "Saudi Arabia", "Senegal", "Slovakia",
    "South Africa", "South Korea", "Spain", "Sri Lanka", "Sudan", "Sweden",
    "Switzerland", "Taiwan", "Tanzania", "Thailand", "Tonga", "Tunisia",
    "Turkey", "Turkmenistan", "Tuvalu", "Ukraine", "United Arab Emirates",
    "United Kingdom", "United States", "Venezuela", "Vietnam",
    "Virgin Islands, U.S.", "Yemen", "Yugoslavia", "Zambia",
]

# Countries with many cities in the original data; everything else gets weight 1.
COUNTRY_WEIGHTS = {
    "India": 60, "China": 53, "United States": 35, "Japan": 31, "Mexico": 30,
    "Brazil": 28, "Russian Federation": 28, "Philippines": 20, "Turkey": 15,
    "Indonesia": 14, "Nigeria": 13, "Argentina": 13, "South Africa": 11,
}

FIRST_NAMES = [
    "Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer", "Maria",
    "Susan", "Margaret", "Dorothy", "Lisa", "Nancy", "Karen", "Betty", "Helen",
    "Sandra", "Donna", "Carol", "Ruth", "Sharon", "Michelle", "Laura", "Sarah",
    "Kimberly", "Deborah", "Jessica", "Shirley", "Cynthia", "Angela",
    "Melissa", "Brenda", "Amy", "Anna", "Rebecca", "Virginia", "Kathleen",
    "Pamela", "Martha", "Debra", "Amanda", "James", "John", "Robert",
    "Michael", "William", "David", "Richard", "Charles", "Joseph", "Thomas",
    "Christopher", "Daniel", "Paul", "Mark", "Donald", "George", "Kenneth",
    "Steven", "Edward", "Brian", "Ronald", "Anthony", "Kevin", "Jason",
    "Matthew", "Gary", "Timothy", "Jose", "Larry", "Jeffrey", "Frank", "Scott",
    "Eric", "Stephen", "Andrew", "Raymond", "Gregory", "Joshua", "Jerry",
    "Dennis", "Walter", "Patrick", "Peter", "Harold", "Douglas", "Henry",
    "Carl", "Arthur", "Ryan", "Roger", "Penelope", "Nick", "Ed", "Jennifer",
    "Johnny", "Bette", "Grace", "Matthew", "Joe", "Christian", "Zero", "Karl",
    "Uma", "Vivien", "Cuba", "Fred", "Helen", "Dan", "Bob", "Lucille",
    "Kirsten", "Elvis", "Sandra", "Cameron", "Kevin", "Rip", "Julia", "Woody",
    "Alec", "Sissy", "Tim", "Milla", "Audrey", "Judy", "Burt", "Val", "Tom",
    "Goldie", "Jodie", "Kirk", "Reese", "Parker", "Frances", "Anne",
    "Natalie", "Gina", "Ralph", "Renee", "Meryl", "Greta", "Morgan", "Ian",
]

LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Jones", "Brown", "Davis", "Miller",
    "Wilson", "Moore", "Taylor", "Anderson", "Thomas", "Jackson", "White",
    "Harris", "Martin", "Thompson", "Garcia", "Martinez", "Robinson", "Clark",
    "Rodriguez", "Lewis", "Lee", "Walker", "Hall", "Allen", "Young",
    "Hernandez", "King", "Wright", "Lopez", "Hill", "Scott", "Green", "Adams",
    "Baker", "Gonzalez", "Nelson", "Carter", "Mitchell", "Perez", "Roberts",
    "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins",
    "Guiness", "Wahlberg", "Chase", "Davis", "Lollobrigida", "Nicholson",
    "Mostel", "Johansson", "Swank", "Gable", "Cage", "Berry", "Wood",
    "Bergen", "Olivier", "Costner", "Voight", "Torn", "Fawcett", "Tracy",
    "Paltrow", "Marx", "Kilmer", "Street", "Hoffman", "Sobieski", "Hackman",
    "Peck", "Dench", "Hopkins", "Mansfield", "Jovovich", "Dean", "Bailey",
    "Bolger", "Zellweger", "Cronyn", "Dreyfuss", "Pesci", "Dukakis",
    "Bacall", "Hawke", "Crawford", "Degeneres", "Hurt", "Monroe", "Keitel",
    "Witherspoon", "Stallone", "Tandy", "Willis", "Pitt", "Dunst", "Winslet",
]

TITLE_WORDS = [
    "Academy", "Ace", "Adaptation", "Affair", "African", "Agent", "Airplane",
    "Airport", "Alabama", "Aladdin", "Alamo", "Alaska", "Alien", "Alley",
    "Alone", "Amadeus", "Amelie", "American", "Anaconda", "Angels",
    "Annie", "Anonymous", "Anthem", "Apache", "Apocalypse", "Apollo",
    "Arabia", "Argonauts", "Arizona", "Armageddon", "Army", "Attacks",
    "Backlash", "Badman", "Ballroom", "Bang", "Barbarella", "Basic",
    "Beach", "Bear", "Beauty", "Bed", "Bedazzled", "Behavior", "Bells",
    "Beverly", "Bikini", "Bird", "Birds", "Blackout", "Blade", "Blanket",
    "Blindness", "Blood", "Blues", "Boiled", "Bonnie", "Boogie", "Bound",
    "Bowfinger", "Brannigan", "Braveheart", "Breakfast", "Bride", "Brooklyn",
    "Bubble", "Bucket", "Bull", "Bunch", "Butterfly", "Cabin", "Caddyshack",
    "Calendar", "Camelot", "Campus", "Candidate", "Canyon", "Caper",
    "Caribbean", "Carol", "Casablanca", "Casper", "Catch", "Celebrity",
    "Center", "Chainsaw", "Chamber", "Champion", "Chariots", "Chasing",
    "Chicago", "Chicken", "Chinatown", "Christmas", "Cider", "Cincinatti",
    "Circus", "Citizen", "Clash", "Closer", "Clue", "Clyde", "Coast",
    "Color", "Comancheros", "Coneheads", "Confessions", "Connecticut",
    "Control", "Cowboy", "Crazy", "Creatures", "Crooked", "Crossroads",
    "Crow", "Cruelty", "Crusade", "Cupboard", "Curtain", "Dalmations",
    "Dancing", "Dangerous", "Darkness", "Daughter", "Day", "Dazed",
    "Deceiver", "Deep", "Desert", "Destiny", "Detective", "Devil", "Dinosaur",
    "Divide", "Doctor", "Dogma", "Doom", "Dorado", "Dozen", "Dragon",
    "Dream", "Driving", "Drums", "Duck", "Dude", "Dumbo", "Dying", "Eagles",
    "Earring", "Egg", "Egypt", "Element", "Elephant", "Empire", "Encounters",
    "Enemy", "English", "Entrapment", "Escape", "Everyone", "Express",
    "Factory", "Falcon", "Family", "Fantasia", "Fargo", "Fatal", "Feud",
    "Fever", "Fiction", "Fight", "Finding", "Fire", "Flamingos", "Flash",
    "Flight", "Floats", "Fool", "Forrest", "Freaky", "Frida", "Frisco",
    "Frost", "Fugitive", "Gables", "Galaxy", "Gangs", "Garden", "Gaslight",
    "Ghost", "Giant", "Gilmore", "Gladiator", "Glory", "Gold", "Gone",
    "Graffiti", "Grail", "Greek", "Groove", "Gumbo", "Gun", "Halloween",
    "Hanging", "Harper", "Harry", "Heaven", "Hedwig", "Highball", "Holiday",
    "Hollywood", "Homeward", "Honey", "Hook", "Horror", "Hunter", "Hustler",
    "Ice", "Idols", "Impossible", "Indian", "Insider", "Instinct", "Islands",
    "Jade", "Jaws", "Jedi", "Jericho", "Jungle", "Kane", "Karate", "Kick",
    "Kiss", "Knock", "Labyrinth", "Lady", "Lambs", "Legend", "Lies", "Lion",
    "Lola", "Lonely", "Lord", "Lost", "Love", "Madison", "Magic", "Maiden",
    "Malkovich", "Manchurian", "Matrix", "Maze", "Memento", "Midnight",
    "Minority", "Mission", "Montezuma", "Moon", "Mosquito", "Mulan",
]

DESCRIPTION_ADJECTIVES = [
    "Epic", "Astounding", "Fateful", "Thoughtful", "Beautiful", "Brilliant",
    "Emotional", "Taut", "Lacklusture", "Insightful", "Intrepid", "Boring",
    "Amazing", "Unbelieveable", "Stunning", "Touching", "Action-Packed",
]
DESCRIPTION_KINDS = [
    "Drama", "Documentary", "Saga", "Story", "Yarn", "Tale", "Reflection",
    "Character Study", "Panorama", "Display", "Epistle", "Drama",
]
DESCRIPTION_NOUNS = [
    "Feminist", "Mad Scientist", "Teacher", "Dentist", "Database Administrator",
    "Boy", "Girl", "Crocodile", "Shark", "Cat", "Dog", "Robot", "Monkey",
    "Astronaut", "Hunter", "Lumberjack", "Explorer", "Pastry Chef", "Student",
    "Moose", "Squirrel", "Composer", "Frisbee", "Sumo Wrestler", "Womanizer",
]
DESCRIPTION_VERBS = [
    "Battle", "Chase", "Defeat", "Discover", "Find", "Fight", "Kill",
    "Meet", "Outgun", "Outrace", "Overcome", "Pursue", "Reach", "Redeem",
    "Sink", "Succumb", "Vanquish", "Confront", "Build", "Face",
]
DESCRIPTION_PLACES = [
    "The Canadian Rockies", "A Shark Tank", "The Gulf of Mexico",
    "A Baloon", "Ancient India", "A Jet Boat", "A Manhattan Penthouse",
    "Ancient China", "Soviet Georgia", "The Outback", "Nigeria",
    "A U-Boat", "A Monastery", "The First Manned Space Station",
    "A MySQL Convention", "Berlin", "An Abandoned Fun House", "Australia",
    "A Baloon Factory", "An Abandoned Mine Shaft", "The Sahara Desert",
]

RATINGS = ["G", "PG", "PG-13", "R", "NC-17"]
RATING_WEIGHTS = [178, 194, 223, 195, 210]
SPECIAL_FEATURES = ["Trailers", "Commentaries", "Deleted Scenes", "Behind the Scenes"]

CITY_PARTS_START = [
    "A", "Ba", "Bel", "Ca", "Da", "E", "Fa", "Ga", "Ha", "I", "Ja", "Ka",
    "La", "Ma", "Na", "O", "Pa", "Qu", "Ra", "Sa", "Ta", "U", "Va", "Ya", "Za",
]
CITY_PARTS_MIDDLE = [
    "bo", "ca", "da", "gan", "ki", "lo", "ma", "na", "ra", "ri", "sa", "ta",
    "va", "zu", "le", "mi", "no", "pu", "se", "to",
]
CITY_PARTS_END = [
    "bad", "burg", "do", "ford", "gar", "ia", "kent", "lia", "mar", "nes",
    "pur", "ria", "sk", "stad", "ton", "ville", "wa", "yang", "zhou", "pol",
]
STREET_NAMES = [
    "Abu Dhabi", "Adana", "Alberta", "Allende", "Apeldoorn", "Avellaneda",
    "Baku", "Barcelona", "Baybay", "Bergamo", "Bhopal", "Boa Vista",
    "Brockton", "Cabuyao", "Carmen", "Cheju", "Chiayi", "Dadu", "Dallas",
    "Duisburg", "Escobar", "Faaa", "Garden Grove", "Grand Prairie", "Hanoi",
    "Huixquilucan", "Ilorin", "Jaffna", "Kabul", "Kragujevac", "Laredo",
    "Lethbridge", "Liepaja", "Loja", "Mannheim", "Mosul", "Nagaon",
    "Oshawa", "Patiala", "Pune", "Rajkot", "Saint-Denis", "Santiago",
    "Sivas", "Tabriz", "Tanza", "Uruapan", "Valle de Santiago", "Woodridge",
]
STREET_KINDS = ["Street", "Avenue", "Drive", "Boulevard", "Parkway", "Lane", "Way", "Loop", "Manor", "Place"]
DISTRICTS = [
    "Alberta", "QLD", "Nagasaki", "California", "Buenos Aires", "Texas",
    "Sao Paulo", "Punjab", "Shandong", "West Bengal", "Maharashtra",
    "England", "Ontario", "Gujarat", "Uttar Pradesh", "Hubei", "Kanagawa",
    "Osaka", "Ohio", "Tamil Nadu", "Jalisco", "Guanajuato", "Moscow",
    "Southern Tagalog", "Central Java", "Istanbul", "Lagos", "Gauteng",
]

# Rentals per month in the original data; the calendar has a gap between
# August 2005 and February 2006, and every February 2006 rental is still out.
RENTAL_MONTHS = [
    (dt.datetime(2005, 5, 24, 22, 0, 0), dt.datetime(2005, 6, 1), 1156),
    (dt.datetime(2005, 6, 14, 22, 0, 0), dt.datetime(2005, 6, 22), 2311),
    (dt.datetime(2005, 7, 5, 22, 0, 0), dt.datetime(2005, 8, 1), 6709),
    (dt.datetime(2005, 8, 1, 0, 0, 0), dt.datetime(2005, 8, 24), 5686),
    (dt.datetime(2006, 2, 14, 15, 0, 0), dt.datetime(2006, 2, 15), 182),
]
UNRETURNED_FROM = dt.datetime(2006, 1, 1)

EPOCH = dt.datetime(2004, 1, 1)


def stamp(seconds: int) -> str:
    """Format seconds since EPOCH as `YYYY-MM-DD HH:MM:SS`."""
    return (EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


def seconds_since_epoch(moment: dt.datetime) -> int:
    return int((moment - EPOCH).total_seconds())


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class SeedWriter:
    """Writes one CSV per table and remembers row counts for the summary."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.counts: dict[str, int] = {}

    def write(self, table: str, header: list[str], rows) -> None:
        path = self.out_dir / f"{table}.csv"
        count = 0
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
        self.counts[table] = count


def generate(out_dir: Path, scale: int) -> dict[str, int]:
    rng = random.Random(SEED)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = SeedWriter(out_dir)

    # --- reference data -----------------------------------------------------
    seeds.write(
        "language",
        ["language_id", "name", "last_update"],
        ([index, name, LAST_UPDATE["language"]] for index, name in enumerate(LANGUAGES, start=1)),
    )
    seeds.write(
        "category",
        ["category_id", "name", "last_update"],
        ([index, name, LAST_UPDATE["category"]] for index, name in enumerate(CATEGORIES, start=1)),
    )
    seeds.write(
        "country",
        ["country_id", "country", "last_update"],
        ([index, name, LAST_UPDATE["country"]] for index, name in enumerate(COUNTRIES, start=1)),
    )

    country_weights = [COUNTRY_WEIGHTS.get(name, 1) for name in COUNTRIES]
    city_rows = []
    for city_id in range(1, CITY_COUNT + 1):
        name = (
            rng.choice(CITY_PARTS_START)
            + rng.choice(CITY_PARTS_MIDDLE)
            + rng.choice(CITY_PARTS_END)
        )
        country_id = rng.choices(range(1, len(COUNTRIES) + 1), weights=country_weights)[0]
        city_rows.append([city_id, name, country_id, LAST_UPDATE["city"]])
    seeds.write("city", ["city_id", "city", "country_id", "last_update"], city_rows)

    # --- films ----------------------------------------------------------------
    titles: set[str] = set()
    film_rows = []
    film_rental_duration: dict[int, int] = {}
    film_rental_rate_cents: dict[int, int] = {}
    for film_id in range(1, FILM_COUNT + 1):
        while True:
            title = f"{rng.choice(TITLE_WORDS)} {rng.choice(TITLE_WORDS)}".upper()
            if title not in titles:
                titles.add(title)
                break
        description = (
            f"A {rng.choice(DESCRIPTION_ADJECTIVES)} {rng.choice(DESCRIPTION_KINDS)} "
            f"of a {rng.choice(DESCRIPTION_NOUNS)} And a {rng.choice(DESCRIPTION_NOUNS)} "
            f"who must {rng.choice(DESCRIPTION_VERBS)} a {rng.choice(DESCRIPTION_NOUNS)} "
            f"in {rng.choice(DESCRIPTION_PLACES)}"
        )
        # Most films are English; a few are dubbed releases.
        language_id = 1 if rng.random() < 0.9 else rng.randint(2, len(LANGUAGES))
        rental_duration = rng.randint(3, 7)
        rental_rate_cents = rng.choice([99, 299, 499])
        length = rng.randint(46, 185)
        replacement_cost_cents = rng.randint(9, 29) * 100 + 99
        rating = rng.choices(RATINGS, weights=RATING_WEIGHTS)[0]
        features = [feature for feature in SPECIAL_FEATURES if rng.random() < 0.5]
        if not features:
            features = [rng.choice(SPECIAL_FEATURES)]
        film_rental_duration[film_id] = rental_duration
        film_rental_rate_cents[film_id] = rental_rate_cents
        film_rows.append([
            film_id, title, description, 2006, language_id, rental_duration,
            money(rental_rate_cents), length, money(replacement_cost_cents), rating,
            ",".join(features), LAST_UPDATE["film"],
        ])
    seeds.write(
        "film",
        [
            "film_id", "title", "description", "release_year", "language_id",
            "rental_duration", "rental_rate", "length", "replacement_cost",
            "rating", "special_features", "last_update",
        ],
        film_rows,
    )
    seeds.write(
        "film_category",
        ["film_id", "category_id", "last_update"],
        (
            [film_id, rng.randint(1, len(CATEGORIES)), LAST_UPDATE["film_category"]]
            for film_id in range(1, FILM_COUNT + 1)
        ),
    )

    actor_rows = [
        [actor_id, rng.choice(FIRST_NAMES).upper(), rng.choice(LAST_NAMES).upper(), LAST_UPDATE["actor"]]
        for actor_id in range(1, ACTOR_COUNT + 1)
    ]
    seeds.write("actor", ["actor_id", "first_name", "last_name", "last_update"], actor_rows)

    film_actor_pairs = []
    for film_id in range(1, FILM_COUNT + 1):
        for actor_id in rng.sample(range(1, ACTOR_COUNT + 1), rng.randint(1, 10)):
            film_actor_pairs.append((actor_id, film_id))
    film_actor_pairs.sort()
    seeds.write(
        "film_actor",
        ["actor_id", "film_id", "last_update"],
        ([actor_id, film_id, LAST_UPDATE["film_actor"]] for actor_id, film_id in film_actor_pairs),
    )

    # --- inventory (before anything that grows with --scale) ---------------
    inventory_film = array("i", [0])
    inventory_store = array("b", [0])
    for film_id in range(1, FILM_COUNT + 1):
        for store_id in (1, 2):
            if rng.random() < 0.78:
                for _ in range(rng.randint(2, 4)):
                    inventory_film.append(film_id)
                    inventory_store.append(store_id)
    inventory_count = len(inventory_film) - 1
    seeds.write(
        "inventory",
        ["inventory_id", "film_id", "store_id", "last_update"],
        (
            [inventory_id, inventory_film[inventory_id], inventory_store[inventory_id], LAST_UPDATE["inventory"]]
            for inventory_id in range(1, inventory_count + 1)
        ),
    )
    inventory_by_store = {
        store_id: [i for i in range(1, inventory_count + 1) if inventory_store[i] == store_id]
        for store_id in (1, 2)
    }

    # --- addresses, stores, staff, customers ---------------------------------
    customer_count = CUSTOMER_COUNT * scale
    # Addresses 1-2 belong to the stores, 3-4 to the staff, the rest to customers.
    address_count = 4 + customer_count

    def address_rows():
        for address_id in range(1, address_count + 1):
            street = f"{rng.randint(1, 1999)} {rng.choice(STREET_NAMES)} {rng.choice(STREET_KINDS)}"
            # Only the store addresses carry a second line; the rest stay empty (NULL).
            address2 = f"Suite {rng.randint(100, 999)}" if address_id <= 2 else ""
            roll = rng.random()
            if roll < 0.01:
                postal_code = ""
            elif roll < 0.12:
                # Leading zero, so the column must be loaded as text.
                postal_code = f"0{rng.randint(1000, 9999)}"
            else:
                postal_code = f"{rng.randint(10000, 99999)}"
            phone = f"{rng.randint(1, 9)}{rng.randint(0, 10**10 - 1):010d}"
            yield [
                address_id, street, address2, rng.choice(DISTRICTS),
                rng.randint(1, CITY_COUNT), postal_code, phone, LAST_UPDATE["address"],
            ]

    seeds.write(
        "address",
        ["address_id", "address", "address2", "district", "city_id", "postal_code", "phone", "last_update"],
        address_rows(),
    )

    seeds.write(
        "store",
        ["store_id", "manager_staff_id", "address_id", "last_update"],
        [[1, 1, 1, LAST_UPDATE["store"]], [2, 2, 2, LAST_UPDATE["store"]]],
    )
    seeds.write(
        "staff",
        ["staff_id", "first_name", "last_name", "address_id", "email", "store_id", "active", "username", "last_update"],
        [
            [1, "Mike", "Hillyer", 3, "Mike.Hillyer@sakilastaff.com", 1, "true", "Mike", LAST_UPDATE["staff"]],
            [2, "Jon", "Stephens", 4, "Jon.Stephens@sakilastaff.com", 2, "true", "Jon", LAST_UPDATE["staff"]],
        ],
    )

    customer_store = array("b", [0]) * (customer_count + 1)
    create_from = seconds_since_epoch(dt.datetime(2004, 1, 1))
    create_until = seconds_since_epoch(dt.datetime(2005, 5, 20))

    def customer_rows():
        for customer_id in range(1, customer_count + 1):
            first_name = rng.choice(FIRST_NAMES)
            last_name = rng.choice(LAST_NAMES)
            store_id = 1 if rng.random() < 0.55 else 2
            customer_store[customer_id] = store_id
            is_active = rng.random() >= 0.025
            create_date = stamp(rng.randint(create_from, create_until))[:10]
            yield [
                customer_id, store_id, first_name, last_name,
                f"{first_name.lower()}.{last_name.lower()}{customer_id}@sakilacustomer.org",
                customer_id + 4, "true" if is_active else "false", create_date,
                LAST_UPDATE["customer"], 1 if is_active else 0,
            ]

    seeds.write(
        "customer",
        [
            "customer_id", "store_id", "first_name", "last_name", "email",
            "address_id", "activebool", "create_date", "last_update", "active",
        ],
        customer_rows(),
    )

    # --- rentals and payments ---------------------------------------------------
    # Rental timestamps are drawn per month window, then sorted so rental_id
    # follows rental_date as in the original data.
    rental_moments = array("q")
    for window_start, window_end, count in RENTAL_MONTHS:
        low = seconds_since_epoch(window_start)
        high = seconds_since_epoch(window_end) - 1
        rental_moments.extend(rng.randint(low, high) for _ in range(count * scale))
    rental_moments = array("q", sorted(rental_moments))
    unreturned_from = seconds_since_epoch(UNRETURNED_FROM)

    payment_moment = array("q")
    payment_rental = array("i")
    payment_customer = array("i")
    payment_staff = array("b")
    payment_cents = array("i")

    def rental_rows():
        for rental_id, rented_at in enumerate(rental_moments, start=1):
            customer_id = rng.randint(1, customer_count)
            # Customers mostly rent from their home store.
            store_id = customer_store[customer_id]
            if rng.random() < 0.15:
                store_id = 3 - store_id
            inventory_id = rng.choice(inventory_by_store[store_id])
            film_id = inventory_film[inventory_id]
            staff_id = store_id
            if rented_at >= unreturned_from:
                return_date = ""
            else:
                allowed_days = film_rental_duration[film_id]
                kept_days = rng.randint(0, allowed_days + 4)
                returned_at = rented_at + kept_days * 86_400 + rng.randint(-43_200, 43_200)
                returned_at = max(returned_at, rented_at + 600)
                return_date = stamp(returned_at)
                if rng.random() < PAYMENT_SHARE:
                    late_days = max(0, kept_days - allowed_days)
                    cents = film_rental_rate_cents[film_id] + late_days * 100
                    if rng.random() < 0.002:
                        cents = 0  # promotional free rental
                    payment_moment.append(returned_at + rng.randint(0, 7_200))
                    payment_rental.append(rental_id)
                    payment_customer.append(customer_id)
                    payment_staff.append(staff_id)
                    payment_cents.append(cents)
            rental_date = stamp(rented_at)
            yield [
                rental_id, rental_date, inventory_id, customer_id, return_date,
                staff_id, rental_date,
            ]

    seeds.write(
        "rental",
        ["rental_id", "rental_date", "inventory_id", "customer_id", "return_date", "staff_id", "last_update"],
        rental_rows(),
    )

    # payment_id follows payment_date; ties keep rental order.
    order = sorted(range(len(payment_moment)), key=lambda index: (payment_moment[index], payment_rental[index]))
    seeds.write(
        "payment",
        ["payment_id", "customer_id", "staff_id", "rental_id", "amount", "payment_date"],
        (
            [
                payment_id, payment_customer[index], payment_staff[index],
                payment_rental[index], money(payment_cents[index]), stamp(payment_moment[index]),
            ]
            for payment_id, index in enumerate(order, start=1)
        ),
    )
    return seeds.counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=int, default=1,
        help="multiply customers, rentals and payments by N (default 1)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent.parent / "seeds",
        help="directory to write the CSV files into (default: seeds/ at the project root)",
    )
    args = parser.parse_args()
    if args.scale < 1:
        parser.error("--scale must be 1 or more")
    counts = generate(args.out, args.scale)
    for table in sorted(counts):
        print(f"{table:<14} {counts[table]:>10,}")
    print(f"{'total':<14} {sum(counts.values()):>10,}")


if __name__ == "__main__":
    main()
