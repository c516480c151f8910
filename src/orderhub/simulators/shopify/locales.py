"""Names, addresses, taxes and currencies of customers around the world, in their own scripts.

Data for the order generator: Latin with accents, Cyrillic, Greek, Arabic and
Hebrew (right to left), Chinese, Japanese, Korean, Devanagari and Thai, so that
every consumer of the simulator meets real-world text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class City:
    name: str
    province: str | None
    province_code: str | None
    zip: str | None
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Locale:
    language: str  # customer_locale
    country: str  # English name, as REST's ``country``
    country_code: str
    currency: str  # what customers here are shown (presentment currency)
    names: tuple[tuple[str, str, str], ...]  # first name, last name, e-mail local part
    cities: tuple[City, ...]
    streets: tuple[str, ...]
    phone_prefix: str
    taxes: tuple[tuple[str, str], ...]  # title, rate
    family_name_first: bool = False  # "王伟", not "伟 王"


LOCALES: tuple[Locale, ...] = (
    Locale("en", "United States", "US", "USD",
           (("Emily", "O'Connor", "emily.oconnor"), ("María José", "Nguyễn", "mjnguyen"),
            ("James", "Smith-Jones", "jsj")),
           (City("New York", "New York", "NY", "10001", 40.7506, -73.9972),
            City("San Francisco", "California", "CA", "94103", 37.7726, -122.4099),
            City("Austin", "Texas", "TX", "78701", 30.2711, -97.7437)),
           ("350 Fifth Avenue", "1 Market Street", "742 Evergreen Terrace"), "+1 212 555 ",
           (("NY State Tax", "0.04"), ("New York City Tax", "0.045"))),
    Locale("de", "Germany", "DE", "EUR",
           (("Zoë", "Müller", "zoë.müller"), ("Jürgen", "Groß", "juergen.gross"), ("Käthe", "Schäfer", "kaethe")),
           (City("Berlin", "Berlin", "BE", "10117", 52.5163, 13.3777),
            City("München", "Bavaria", "BY", "80331", 48.1374, 11.5755),
            City("Köln", "North Rhine-Westphalia", "NW", "50667", 50.9375, 6.9603)),
           ("Friedrichstraße 43", "Königsallee 12", "Schloßstraße 7"), "+49 30 ", (("MwSt", "0.19"),)),
    Locale("fr", "France", "FR", "EUR",
           (("Chloé", "Lefèvre", "chloe.lefevre"), ("François", "Dupré", "fdupre"), ("Hélène", "Béranger", "helene")),
           (City("Paris", None, None, "75008", 48.8738, 2.2950),
            City("Besançon", None, None, "25000", 47.2378, 6.0241),
            City("Orléans", None, None, "45000", 47.9029, 1.9093)),
           ("8 boulevard Haussmann", "12 rue de l'Église", "3 place du Général-de-Gaulle"), "+33 1 ",
           (("TVA", "0.2"),)),
    Locale("es", "Spain", "ES", "EUR",
           (("Begoña", "Muñoz", "begona"), ("Iñaki", "Ibáñez", "inaki.ibanez"), ("José Ángel", "Peña", "japena")),
           (City("Madrid", "Madrid", "M", "28013", 40.4168, -3.7038),
            City("A Coruña", "A Coruña", "C", "15001", 43.3623, -8.4115),
            City("Cádiz", "Cádiz", "CA", "11001", 36.5271, -6.2886)),
           ("Calle de Alcalá 45", "Rúa Real 12", "Avenida de Andalucía 3"), "+34 91 ", (("IVA", "0.21"),)),
    Locale("pl", "Poland", "PL", "PLN",
           (("Łukasz", "Wójcik", "lukasz.wojcik"), ("Zofia", "Żukowska", "zofia"), ("Michał", "Krawczyk", "michal")),
           (City("Kraków", None, None, "31-001", 50.0619, 19.9368),
            City("Łódź", None, None, "90-001", 51.7592, 19.4560),
            City("Gdańsk", None, None, "80-001", 54.3520, 18.6466)),
           ("ul. Floriańska 15", "ul. Piotrkowska 104", "ul. Długa 2"), "+48 12 ", (("VAT", "0.23"),)),
    Locale("pt-BR", "Brazil", "BR", "BRL",
           (("João", "Gonçalves", "joao.goncalves"), ("Conceição", "Araújo", "conceicao")),
           (City("São Paulo", "São Paulo", "SP", "01310-100", -23.5614, -46.6559),
            City("Florianópolis", "Santa Catarina", "SC", "88010-000", -27.5954, -48.5480)),
           ("Avenida Paulista, 1578", "Rua Felipe Schmidt, 303"), "+55 11 ", (("ICMS", "0.18"),)),
    Locale("ru", "Russia", "RU", "RUB",
           (("Анна", "Смирнова", "anna.smirnova"), ("Дмитрий", "Кузнецов", "dmitry.k"), ("Ольга", "Попова", "olga")),
           (City("Москва", "Moscow", "MOW", "101000", 55.7558, 37.6173),
            City("Санкт-Петербург", "Saint Petersburg", "SPE", "190000", 59.9343, 30.3351),
            City("Новосибирск", "Novosibirsk", "NVS", "630099", 55.0084, 82.9357)),
           ("ул. Тверская, д. 7, кв. 12", "Невский проспект, д. 28", "Красный проспект, д. 1"), "+7 495 ",
           (("НДС", "0.2"),)),
    Locale("el", "Greece", "GR", "EUR",
           (("Γιώργος", "Παπαδόπουλος", "giorgos.p"), ("Ελένη", "Νικολάου", "eleni"),
            ("Δημήτρης", "Οικονόμου", "dimitris")),
           (City("Αθήνα", None, None, "105 57", 37.9755, 23.7348),
            City("Θεσσαλονίκη", None, None, "546 21", 40.6401, 22.9444)),
           ("Οδός Ερμού 25", "Λεωφόρος Νίκης 3"), "+30 21 ", (("ΦΠΑ", "0.24"),)),
    Locale("ar", "United Arab Emirates", "AE", "AED",
           (("محمد", "العلي", "mohammed.alali"), ("فاطمة", "الزهراء", "fatima"), ("عمر", "الحسن", "omar.h")),
           (City("دبي", "Dubai", "DU", None, 25.1972, 55.2744),
            City("أبو ظبي", "Abu Dhabi", "AZ", None, 24.4539, 54.3773)),
           ("شارع الشيخ زايد 12", "شارع الوصل، فيلا 4"), "+971 4 ", (("VAT", "0.05"),)),
    Locale("he", "Israel", "IL", "ILS",
           (("נועה", "כהן", "noa.cohen"), ("יוסף", "לוי", "yosef"), ("מאיה", "מזרחי", "maya.m")),
           (City("תל אביב-יפו", None, None, "6578401", 32.0636, 34.7741),
            City("ירושלים", None, None, "9414501", 31.7833, 35.2167)),
           ("שדרות רוטשילד 1", "רחוב יפו 97, דירה 3"), "+972 3 ", (("מע״מ", "0.17"),)),
    Locale("zh-CN", "China", "CN", "CNY",
           (("伟", "王", "wang.wei"), ("芳", "李", "li.fang"), ("娜", "张", "zhang.na")),
           (City("上海", "Shanghai", "SH", "200001", 31.2397, 121.4998),
            City("北京", "Beijing", "BJ", "100006", 39.9042, 116.4074),
            City("广州", "Guangdong", "GD", "510000", 23.1291, 113.2644)),
           ("南京东路 100号", "长安街 1号", "天河路 385号"), "+86 21 ", (("增值税", "0.13"),), family_name_first=True),
    Locale("ja", "Japan", "JP", "JPY",
           (("さくら", "佐藤", "sakura.sato"), ("健太", "鈴木", "kenta"), ("ゆい", "高橋", "yui.t")),
           (City("渋谷区", "Tokyo", "JP-13", "150-0043", 35.6595, 139.7005),
            City("大阪市北区", "Ōsaka", "JP-27", "530-0001", 34.7025, 135.4959),
            City("京都市下京区", "Kyōto", "JP-26", "600-8216", 34.9858, 135.7588)),
           ("道玄坂1丁目2-3", "梅田3丁目1-1", "東塩小路町721-1"), "+81 3 ", (("消費税", "0.1"),),
           family_name_first=True),
    Locale("ko", "South Korea", "KR", "KRW",
           (("민준", "김", "minjun.kim"), ("서연", "이", "seoyeon"), ("지호", "박", "jiho.park")),
           (City("서울특별시 중구", "Seoul", "KR-11", "04524", 37.5665, 126.9780),
            City("부산광역시 해운대구", "Busan", "KR-26", "48099", 35.1587, 129.1604)),
           ("세종대로 110", "해운대해변로 264"), "+82 2 ", (("부가가치세", "0.1"),), family_name_first=True),
    Locale("hi", "India", "IN", "INR",
           (("आरव", "शर्मा", "aarav.sharma"), ("प्रिया", "वर्मा", "priya"), ("अनन्या", "गुप्ता", "ananya.g")),
           (City("नई दिल्ली", "Delhi", "DL", "110001", 28.6315, 77.2167),
            City("मुंबई", "Maharashtra", "MH", "400020", 18.9432, 72.8235),
            City("वाराणसी", "Uttar Pradesh", "UP", "221001", 25.3176, 82.9739)),
           ("कनॉट प्लेस, ब्लॉक ए 12", "मरीन ड्राइव 45", "दशाश्वमेध घाट रोड 7"), "+91 22 ", (("GST", "0.18"),)),
    Locale("th", "Thailand", "TH", "THB",
           (("สมชาย", "ใจดี", "somchai"), ("สุดา", "ศรีสุข", "suda.s"), ("ณัฐ", "วงศ์ไทย", "nat.w")),
           (City("กรุงเทพมหานคร", "Bangkok", "TH-10", "10110", 13.7308, 100.5695),
            City("เชียงใหม่", "Chiang Mai", "TH-50", "50200", 18.7961, 98.9680)),
           ("ถนนสุขุมวิท 55", "ถนนนิมมานเหมินท์ 12"), "+66 2 ", (("VAT", "0.07"),)),
)

# Units of each presentment currency per US dollar (fixed, for a reproducible simulation).
RATES_PER_USD: dict[str, str] = {
    "USD": "1", "EUR": "0.92", "GBP": "0.79", "PLN": "3.98", "BRL": "5.05", "RUB": "92.5", "AED": "3.6725",
    "ILS": "3.71", "CNY": "7.24", "JPY": "151", "KRW": "1350", "INR": "83.2", "THB": "36.4", "CAD": "1.36",
}

ADDRESS2_EXTRAS = ("🦋 Butterfly House", "Apt 4B", "2. OG links", "Bâtiment C, 3ᵉ étage", "кв. 12 🏠",
                   "Floor 7 🌸", "c/o 👩‍💻 Dev Team", "号楼 3单元 🐼", None, None, None)
COMPANIES = ("Café ☕ GmbH", "Ørsted & Søn A/S", "株式会社さくら", "ООО «Ромашка»", "Άλφα Α.Ε.", None, None, None, None)
NOTES = ("Please leave at the door 🚪", "Gift wrap, please 🎁 — it's a surprise!", "Не звонить в дверь, ребёнок спит",
         "配達前に電話してください", "يرجى الاتصال قبل التوصيل", "נא להשאיר אצל השכן", None, None, None, None)
TAGS = ("vip", "wholesale", "first-order", "🦋 butterfly", "Größe M", "подарок", "礼物", "gift")
