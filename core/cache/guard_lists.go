package cache

// The guards' word lists are curated by hand for prompts people send to
// LLMs (software, everyday questions, shopping, travel, health, finance),
// not derived from any evaluation set. WordNet's antonym relation was the
// alternative; its adjective-heavy pairs (hot/cold, wet/dry) miss the verbs
// that flip an instruction (enable/disable, install/uninstall, encrypt/
// decrypt), which matter most here, so the list below is written out and
// every entry is a pair whose swap changes the answer.

// antonymPairs flip a request's polarity. Words are matched after stemming
// (see stem), so list base forms.
var antonymPairs = [][2]string{
	{"enable", "disable"}, {"enabled", "disabled"}, {"activate", "deactivate"},
	{"add", "remove"}, {"add", "delete"}, {"insert", "delete"}, {"create", "delete"},
	{"create", "destroy"}, {"install", "uninstall"}, {"install", "remove"},
	{"increase", "decrease"}, {"increase", "reduce"}, {"raise", "lower"},
	{"maximize", "minimize"}, {"max", "min"}, {"maximum", "minimum"},
	{"on", "off"}, {"turn on", "turn off"}, {"switch on", "switch off"}, {"log on", "log off"}, {"open", "close"}, {"open", "closed"}, {"start", "stop"},
	{"begin", "end"}, {"start", "end"}, {"start", "finish"},
	{"ascend", "descend"}, {"ascending", "descending"}, {"asc", "desc"},
	{"before", "after"}, {"pro", "con"}, {"pros", "cons"}, {"advantage", "disadvantage"},
	{"benefit", "drawback"}, {"benefit", "risk"}, {"encrypt", "decrypt"}, {"encode", "decode"},
	{"compress", "decompress"}, {"zip", "unzip"}, {"lock", "unlock"}, {"mount", "unmount"},
	{"connect", "disconnect"}, {"subscribe", "unsubscribe"}, {"follow", "unfollow"},
	{"block", "unblock"}, {"mute", "unmute"}, {"pin", "unpin"}, {"hide", "show"},
	{"hide", "unhide"}, {"import", "export"}, {"upload", "download"}, {"push", "pull"},
	{"send", "receive"}, {"buy", "sell"}, {"borrow", "lend"},
	{"input", "output"}, {"read", "write"}, {"allow", "deny"}, {"allow", "block"},
	{"accept", "reject"}, {"approve", "reject"}, {"include", "exclude"},
	{"join", "leave"}, {"login", "logout"}, {"log in", "log out"}, {"sign in", "sign out"},
	{"signin", "signout"}, {"attach", "detach"}, {"merge", "split"}, {"expand", "collapse"},
	{"upgrade", "downgrade"}, {"upper", "lower"}, {"uppercase", "lowercase"},
	{"up", "down"}, {"left", "right"}, {"top", "bottom"}, {"first", "last"},
	{"inner", "outer"}, {"inside", "outside"}, {"internal", "external"},
	{"above", "below"}, {"over", "under"}, {"more", "less"}, {"more", "fewer"},
	{"most", "least"}, {"better", "worse"}, {"best", "worst"}, {"good", "bad"},
	{"high", "low"}, {"higher", "lower"}, {"highest", "lowest"}, {"large", "small"},
	{"big", "small"}, {"larger", "smaller"}, {"largest", "smallest"}, {"long", "short"},
	{"longer", "shorter"}, {"fast", "slow"}, {"faster", "slower"}, {"early", "late"},
	{"earlier", "later"}, {"hot", "cold"}, {"warm", "cool"}, {"heat", "cool"},
	{"wet", "dry"}, {"light", "dark"}, {"light", "heavy"}, {"new", "old"},
	{"newest", "oldest"}, {"young", "old"}, {"cheap", "expensive"}, {"cheapest", "most expensive"},
	{"rich", "poor"}, {"gain", "lose"}, {"gain", "loss"}, {"profit", "loss"},
	{"win", "lose"}, {"pass", "fail"}, {"success", "failure"}, {"true", "false"},
	{"yes", "no"}, {"valid", "invalid"}, {"legal", "illegal"}, {"safe", "unsafe"},
	{"safe", "dangerous"}, {"healthy", "unhealthy"}, {"possible", "impossible"},
	{"able", "unable"}, {"like", "dislike"}, {"love", "hate"}, {"agree", "disagree"},
	{"always", "never"}, {"all", "none"}, {"everything", "nothing"}, {"sync", "async"},
	{"synchronous", "asynchronous"}, {"public", "private"}, {"static", "dynamic"},
	{"mutable", "immutable"}, {"client", "server"}, {"frontend", "backend"},
	{"encrypted", "unencrypted"}, {"online", "offline"},
	{"forward", "backward"}, {"north", "south"}, {"east", "west"}, {"male", "female"},
	{"men", "women"}, {"man", "woman"}, {"boy", "girl"}, {"husband", "wife"},
	{"positive", "negative"}, {"plus", "minus"}, {"sum", "difference"},
	{"add", "subtract"}, {"multiply", "divide"},
	{"arrive", "depart"}, {"arrival", "departure"}, {"enter", "exit"},
	{"include", "omit"}, {"keep", "discard"}, {"save", "discard"}, {"undo", "redo"},
	{"freeze", "thaw"}, {"freeze", "unfreeze"}, {"lift", "drop"},
	{"accelerate", "decelerate"}, {"inhale", "exhale"}, {"asleep", "awake"},
	{"day", "night"}, {"morning", "evening"}, {"summer", "winter"}, {"spring", "autumn"},
	{"sunrise", "sunset"}, {"with", "without"},
}

// negators flip a statement; the guard compares how many each text has.
var negators = map[string]bool{
	"not": true, "no": true, "never": true, "none": true, "nobody": true,
	"nothing": true, "neither": true, "nor": true, "nowhere": true,
	"cannot": true, "without": true,
}

// numberWords are spelled-out quantities, normalized to digits. "one" and
// "first" are left out: they are far more often an article or "initially"
// than a count, and a count on the other side still mismatches against
// nothing.
var numberWords = map[string]string{
	"zero": "0", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
	"seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11",
	"twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
	"sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
	"twenty": "20", "thirty": "30", "forty": "40", "fifty": "50", "sixty": "60",
	"seventy": "70", "eighty": "80", "ninety": "90", "hundred": "100",
	"thousand": "1000", "million": "1e+06", "billion": "1e+09", "trillion": "1e+12",
	"dozen": "12", "twice": "2", "half": "0.5", "quarter": "0.25", "double": "2", "triple": "3",
	"third": "3rd", "fourth": "4th", "fifth": "5th", "sixth": "6th", "seventh": "7th",
	"eighth": "8th", "ninth": "9th", "tenth": "10th",
}

// units are compared when either text holds a number: "3 days" ≠ "3 weeks".
// Values are canonical names so plural and abbreviated forms agree.
var units = map[string]string{
	"ms": "ms", "millisecond": "ms", "milliseconds": "ms",
	"sec": "s", "secs": "s", "seconds": "s", "minute": "min", "minutes": "min", "min": "min", "mins": "min",
	"hour": "h", "hours": "h", "hr": "h", "hrs": "h", "day": "day", "days": "day",
	"week": "week", "weeks": "week", "month": "month", "months": "month", "year": "year", "years": "year",
	"decade": "decade", "decades": "decade", "century": "century", "centuries": "century",
	"mm": "mm", "cm": "cm", "m": "m", "meter": "m", "meters": "m", "metre": "m", "metres": "m",
	"km": "km", "kilometer": "km", "kilometers": "km", "mile": "mile", "miles": "mile",
	"inch": "inch", "inches": "inch", "foot": "foot", "feet": "foot", "ft": "foot", "yard": "yard", "yards": "yard",
	"mg": "mg", "g": "g", "gram": "g", "grams": "g", "kg": "kg", "kilogram": "kg", "kilograms": "kg",
	"lb": "lb", "lbs": "lb", "pound": "lb", "pounds": "lb", "ounce": "oz", "ounces": "oz", "oz": "oz",
	"ml": "ml", "l": "l", "liter": "l", "liters": "l", "litre": "l", "litres": "l",
	"cup": "cup", "cups": "cup", "tablespoon": "tbsp", "tablespoons": "tbsp", "tbsp": "tbsp",
	"teaspoon": "tsp", "teaspoons": "tsp", "tsp": "tsp", "gallon": "gallon", "gallons": "gallon",
	"b": "byte", "byte": "byte", "bytes": "byte", "kb": "kb", "mb": "mb", "gb": "gb", "tb": "tb",
	"kib": "kib", "mib": "mib", "gib": "gib", "bit": "bit", "bits": "bit",
	"hz": "hz", "khz": "khz", "mhz": "mhz", "ghz": "ghz", "w": "w", "watt": "w", "watts": "w", "kw": "kw", "kwh": "kwh",
	"v": "v", "volt": "v", "volts": "v", "celsius": "c", "c": "c", "fahrenheit": "f", "f": "f", "kelvin": "k",
	"percent": "%", "%": "%", "$": "usd", "usd": "usd", "dollar": "usd", "dollars": "usd",
	"€": "eur", "eur": "eur", "euro": "eur", "euros": "eur", "£": "gbp", "gbp": "gbp",
	"¥": "jpy", "yen": "jpy", "jpy": "jpy", "yuan": "cny", "rupee": "inr", "rupees": "inr",
	"x": "x", "times": "x", "px": "px", "pt": "pt", "em": "em", "rem": "rem", "dpi": "dpi", "fps": "fps",
	"k": "k", "mph": "mph", "kph": "kph", "calorie": "kcal", "calories": "kcal", "kcal": "kcal",
	"person": "person", "people": "person", "serving": "serving", "servings": "serving",
	"core": "core", "cores": "core", "thread": "thread", "threads": "thread",
}

// gazetteer holds names that are entities even when typed in lowercase:
// programming languages and tools, natural languages, countries, major
// cities, months and weekdays. Lowercase prompts ("capital of spain") carry
// no capital letter to spot them by.
var gazetteer = func() map[string]bool {
	m := map[string]bool{}
	for _, list := range []string{
		// programming languages, runtimes, frameworks, tools, platforms
		`python java javascript typescript golang rust ruby php perl swift kotlin scala haskell elixir erlang clojure
		lua julia matlab fortran cobol pascal dart groovy bash zsh powershell sql nosql graphql html css sass scss
		react vue angular svelte jquery django flask fastapi rails laravel spring express nextjs nuxt nodejs node deno bun
		numpy pandas pytorch tensorflow keras scikit sklearn spark hadoop kafka redis postgres postgresql mysql sqlite
		mongodb mongo cassandra elasticsearch dynamodb oracle mariadb docker kubernetes k8s helm terraform ansible
		jenkins git github gitlab bitbucket npm yarn pip conda maven gradle cargo webpack vite babel eslint
		linux ubuntu debian fedora centos arch windows macos osx ios android chrome firefox safari edge
		aws azure gcp heroku vercel netlify nginx apache excel word powerpoint outlook gmail slack zoom
		iphone ipad mac macbook pixel samsung xbox playstation nintendo openai chatgpt gpt claude gemini llama
		vim emacs vscode intellij eclipse xcode jupyter latex markdown json yaml toml xml csv pdf png jpeg jpg gif svg
		http https tcp udp ssh ftp dns ssl tls ipv4 ipv6 wifi bluetooth usb hdmi utf8 ascii unicode`,
		// natural languages and nationalities
		`english spanish french german italian portuguese dutch russian chinese mandarin cantonese japanese korean
		arabic hindi bengali urdu turkish greek hebrew polish swedish norwegian danish finnish czech hungarian
		romanian ukrainian vietnamese thai indonesian malay tagalog swahili persian farsi latin`,
		// countries
		`afghanistan albania algeria argentina armenia australia austria azerbaijan bahamas bangladesh belarus
		belgium bolivia bosnia brazil bulgaria cambodia cameroon canada chile china colombia croatia cuba cyprus
		denmark ecuador egypt estonia ethiopia fiji finland france georgia germany ghana greece guatemala haiti
		honduras hungary iceland india indonesia iran iraq ireland israel italy jamaica japan jordan kazakhstan
		kenya korea kuwait laos latvia lebanon libya lithuania luxembourg madagascar malaysia mali malta mexico
		moldova monaco mongolia montenegro morocco mozambique myanmar nepal netherlands holland nicaragua niger
		nigeria norway oman pakistan panama paraguay peru philippines poland portugal qatar romania russia rwanda
		scotland wales england britain senegal serbia singapore slovakia slovenia somalia spain sudan sweden
		switzerland syria taiwan tanzania thailand tunisia turkey uganda ukraine uruguay uzbekistan venezuela
		vietnam yemen zambia zimbabwe usa uk uae america europe asia africa antarctica oceania`,
		// major cities
		`london paris berlin madrid rome lisbon dublin amsterdam brussels vienna prague warsaw budapest athens
		moscow istanbul cairo lagos nairobi johannesburg dubai mumbai delhi bangalore beijing shanghai
		tokyo osaka seoul bangkok singapore jakarta manila sydney melbourne auckland toronto vancouver montreal
		chicago boston seattle houston dallas miami atlanta denver phoenix philadelphia washington la nyc
		sf mexico lima bogota santiago rio janeiro paulo aires havana stockholm oslo copenhagen helsinki zurich
		geneva munich hamburg milan barcelona venice florence naples edinburgh manchester liverpool`,
		// months and weekdays
		`january february march april june july august september october november december
		monday tuesday wednesday thursday friday saturday sunday`,
	} {
		for _, w := range splitFields(list) {
			m[w] = true
		}
	}
	return m
}()

func splitFields(s string) []string {
	var out []string
	start := -1
	for i, r := range s {
		space := r == ' ' || r == '\n' || r == '\t'
		if !space && start < 0 {
			start = i
		}
		if space && start >= 0 {
			out = append(out, s[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

// aliasGroups are names that denote the same entity; an entity counts as
// present in the other text when any alias is.
var aliasGroups = [][]string{
	{"us", "usa", "united states", "america", "american", "americans"},
	{"uk", "united kingdom", "britain", "british", "great britain"},
	{"england", "english"}, {"france", "french"}, {"spain", "spanish"}, {"germany", "german"},
	{"italy", "italian"}, {"china", "chinese"}, {"japan", "japanese"}, {"russia", "russian"},
	{"mexico", "mexican"}, {"canada", "canadian"}, {"india", "indian"}, {"brazil", "brazilian"},
	{"australia", "australian"}, {"korea", "korean"}, {"netherlands", "holland", "dutch"},
	{"switzerland", "swiss"}, {"sweden", "swedish"}, {"turkey", "turkish"}, {"greece", "greek"},
	{"ireland", "irish"}, {"israel", "israeli"}, {"iran", "iranian"}, {"iraq", "iraqi"},
	{"egypt", "egyptian"}, {"poland", "polish"}, {"portugal", "portuguese"},
	{"new york", "nyc"}, {"los angeles", "la"}, {"san francisco", "sf"},
	{"javascript", "js"}, {"typescript", "ts"}, {"postgres", "postgresql", "psql"},
	{"kubernetes", "k8s"}, {"mongodb", "mongo"}, {"macos", "osx", "mac os"},
	{"node", "nodejs", "node js"}, {"golang", "go"}, {"c++", "cpp"}, {"c#", "csharp"},
	{"vscode", "vs code", "visual studio code"}, {"sklearn", "scikit"},
	{"january", "jan"}, {"february", "feb"}, {"march", "mar"}, {"april", "apr"},
	{"june", "jun"}, {"july", "jul"}, {"august", "aug"}, {"september", "sept", "sep"},
	{"october", "oct"}, {"november", "nov"}, {"december", "dec"},
}
