package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/pennyllm/penny/core/replay"
)

// BenchmarkReplayShort is issue 8's replay goal: short prompts replayed
// through the wired pipeline (newApp's Replay: local embedder, calibrated
// judge and guards, router, compressor, a fresh in-memory cache, the
// simulated provider, the SQLite ledger) while the cache grows. req/s is
// the runner's own figure (requests over the wall time of Run); fills is
// the number of misses that stored an answer, so the cache ends holding
// min(fills, cache.max_entries = 100,000) entries.
//
//	go test -run '^$' -bench 'ReplayShort/10k' -benchtime 1x .
//	PENNY_BENCH_REPLAY_100K=1 go test -run '^$' -bench 'ReplayShort/100k' -benchtime 1x -timeout 30m .
//
// The 100k variant replays 140,000 requests (about 105,000 fills) and is
// skipped unless PENNY_BENCH_REPLAY_100K is set: it takes minutes.
func BenchmarkReplayShort(b *testing.B) {
	for _, v := range []struct {
		name     string
		requests int
		gate     string
	}{{"10k", 20_000, ""}, {"100k", 200_000, "PENNY_BENCH_REPLAY_100K"}} {
		b.Run(v.name, func(b *testing.B) {
			if v.gate != "" && os.Getenv(v.gate) == "" {
				b.Skipf("set %s=1 to run (takes minutes)", v.gate)
			}
			tr := &replay.Traffic{Format: replay.FormatJSONL, Requests: shortReplayTraffic(v.requests, 8)}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				a := benchApp(b)
				ctx := context.Background()
				p, e, err := a.Replay(ctx)
				if err != nil {
					b.Fatal(err)
				}
				r, err := replay.NewRunner(p, e, replay.Config{Baseline: a.cfg.BaselineModel,
					CompletionTokens: a.cfg.CompletionTokens, Catalog: a.cat, Tokens: a.toks})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				rep, err := r.Run(ctx, tr)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if rep.Failed > 0 {
					b.Fatalf("%d requests failed: %+v", rep.Failed, rep.Failures)
				}
				b.ReportMetric(rep.RequestsPerSecond, "req/s")
				b.ReportMetric(float64(rep.Requests-rep.CacheHits), "fills")
				b.ReportMetric(100*rep.CacheHitRate, "hit-%")
				b.ReportMetric(float64(rep.SemanticHits), "semantic-hits")
				b.StartTimer()
			}
		})
	}
}

// shortReplayTraffic is n short requests, deterministic for seed, shaped
// like the demo day (fixtures/traffic) but over a space of prompts large
// enough for 100,000 distinct ones: question families with slots (countries,
// numbers, units, dates, languages, programming tasks, devices…), several
// phrasings each, people's own openers and closers; 15% exact repeats
// (Zipf-weighted towards the early popular requests) and 10% rewordings of
// an earlier request (same family and slots, another phrasing, typing
// slips). Near-duplicates that differ in one entity or number — which the
// guards must keep apart — are frequent by construction.
func shortReplayTraffic(n int, seed uint64) []replay.Request {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	type intent struct {
		fam   int
		slots []string
	}
	var past []replay.Request
	var intents []intent
	zipf := func(k int) int {
		u := rng.Float64()
		hi := math.Pow(float64(k+1), 0.3)
		return min(k-1, max(0, int(math.Pow(1+u*(hi-1), 1/0.3))-1))
	}
	render := func(in intent, phr int, wrap bool) string {
		f := shortFamilies[in.fam]
		p := f.phrasings[phr%len(f.phrasings)]
		for i, s := range in.slots {
			p = strings.ReplaceAll(p, fmt.Sprintf("{%d}", i), s)
		}
		if wrap && rng.IntN(3) == 0 {
			p = pick(shortOpeners) + strings.ToLower(p[:1]) + p[1:]
		}
		if wrap && rng.IntN(5) == 0 {
			p += pick(shortClosers)
		}
		return p
	}
	out := make([]replay.Request, 0, n)
	for len(out) < n {
		u := rng.Float64()
		user := fmt.Sprintf("user%02d", rng.IntN(60))
		switch {
		case len(past) > 20 && u < 0.15:
			r := past[zipf(len(past))]
			r.User = user
			out = append(out, r)
			continue
		case len(intents) > 20 && u < 0.25:
			in := intents[zipf(len(intents))]
			p := render(in, rng.IntN(8), true)
			switch rng.IntN(4) {
			case 0:
				p = strings.ToLower(p)
			case 1:
				p = strings.TrimSuffix(p, "?")
			case 2:
				p += " pls"
			}
			f := shortFamilies[in.fam]
			r := replay.Request{Prompt: p, Model: f.model, System: f.system, User: user}
			past = append(past, r)
			out = append(out, r)
			continue
		}
		fi := rng.IntN(len(shortFamilies))
		f := shortFamilies[fi]
		in := intent{fam: fi}
		if f.slots != nil {
			in.slots = f.slots(rng)
		}
		intents = append(intents, in)
		r := replay.Request{Prompt: render(in, rng.IntN(len(f.phrasings)), true), Model: f.model, System: f.system, User: user}
		past = append(past, r)
		out = append(out, r)
	}
	for i := range out {
		out[i].Line = i + 1
	}
	return out
}

type shortFamily struct {
	model, system string
	phrasings     []string // {0}, {1}… are the slots
	slots         func(*rand.Rand) []string
}

// draw fills one slot per generator.
func draw(gens ...func(*rand.Rand) string) func(*rand.Rand) []string {
	return func(r *rand.Rand) []string {
		out := make([]string, len(gens))
		for i, g := range gens {
			out[i] = g(r)
		}
		return out
	}
}

func from(xs ...string) func(*rand.Rand) string {
	return func(r *rand.Rand) string { return xs[r.IntN(len(xs))] }
}

func number(lo, hi int) func(*rand.Rand) string {
	return func(r *rand.Rand) string { return fmt.Sprint(lo + r.IntN(hi-lo+1)) }
}

var (
	shortCountries = []string{"France", "Spain", "Italy", "Germany", "Portugal", "Poland", "Norway", "Sweden", "Finland",
		"Denmark", "Greece", "Turkey", "Egypt", "Kenya", "Nigeria", "Ghana", "Morocco", "Brazil", "Argentina", "Chile",
		"Peru", "Colombia", "Mexico", "Canada", "Japan", "China", "India", "Vietnam", "Thailand", "Indonesia",
		"Australia", "Austria", "Belgium", "Ireland", "Iceland", "Hungary", "Romania", "Ukraine", "Croatia", "Serbia"}
	shortCities = []string{"Paris", "Madrid", "Rome", "Berlin", "Lisbon", "Warsaw", "Oslo", "Stockholm", "Helsinki",
		"Athens", "Istanbul", "Cairo", "Nairobi", "Lagos", "Tokyo", "Osaka", "Seoul", "Beijing", "Delhi", "Mumbai",
		"Bangkok", "Sydney", "Melbourne", "Toronto", "Chicago", "Boston", "Denver", "Seattle", "Lima", "Bogota"}
	shortLanguages = []string{"French", "Spanish", "German", "Italian", "Portuguese", "Dutch", "Polish", "Swedish",
		"Japanese", "Chinese", "Korean", "Arabic", "Turkish", "Greek", "Hindi", "Russian"}
	shortPhrases = []string{"good morning", "where is the train station", "I would like a coffee", "how much does this cost",
		"thank you very much", "the meeting is postponed", "please call me back", "I lost my keys", "see you tomorrow",
		"the invoice is attached", "can you help me", "happy birthday", "the shop opens at nine", "I am allergic to nuts",
		"we need more time", "the flight was delayed", "my phone is broken", "where can I park", "it is raining today",
		"the report is ready"}
	shortTasks = []string{"reverse a string", "read a CSV file", "sort a list of dictionaries by a key", "parse JSON",
		"remove duplicates from a list", "merge two sorted arrays", "make an HTTP GET request", "check if a number is prime",
		"count words in a file", "format a date as ISO 8601", "flatten a nested list", "compute a SHA-256 hash",
		"read environment variables", "write unit tests for a function", "retry a request with backoff",
		"convert a string to title case", "find the largest file in a directory", "debounce a function",
		"validate an email address", "paginate a database query", "generate a random password", "zip two lists"}
	shortPLangs = []string{"Python", "Go", "Rust", "JavaScript", "TypeScript", "Java", "C#", "Ruby", "Kotlin", "Swift", "PHP", "Bash"}
	shortUnits  = [][2]string{{"miles", "kilometers"}, {"pounds", "kilograms"}, {"Fahrenheit", "Celsius"}, {"inches", "centimeters"},
		{"gallons", "liters"}, {"feet", "meters"}, {"ounces", "grams"}, {"kilometers per hour", "miles per hour"}}
	shortFoods = []string{"rice", "pasta", "eggs", "potatoes", "broccoli", "carrots", "chicken breast", "salmon", "lentils",
		"quinoa", "spinach", "oats", "almonds", "bananas", "apples", "tofu", "beef", "shrimp", "chickpeas", "sweet potatoes"}
	shortTerms = []string{"inflation", "compound interest", "photosynthesis", "machine learning", "a black hole", "DNA",
		"the stock market", "blockchain", "a recession", "climate change", "quantum computing", "a vaccine", "gravity",
		"an API", "a neural network", "supply and demand", "the immune system", "a mortgage", "an index fund", "entropy",
		"democracy", "the greenhouse effect", "a credit score", "cloud computing", "a hash table", "evolution"}
	shortDevices = []string{"iPhone", "Android phone", "Windows laptop", "MacBook", "Linux desktop", "iPad", "Chromebook"}
	shortActions = []string{"reset my password", "turn on two-factor authentication", "change my email address",
		"recover a deleted file", "share a folder", "cancel my subscription", "download my invoice", "free up storage",
		"stop sync for one folder", "restore an older version of a file", "sign out of all devices", "update the app"}
	shortMonths = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September",
		"October", "November", "December"}
)

const supportSystem = "You are the support assistant for Northwind Drive, a file storage and sync service. Answer briefly and link to the help centre when useful."

var shortFamilies = []shortFamily{
	{model: "gpt-4o-mini", phrasings: []string{"What is the capital of {0}?", "Which city is the capital of {0}?", "Capital of {0}?", "Tell me the capital city of {0}."},
		slots: draw(from(shortCountries...))},
	{model: "gpt-4o", phrasings: []string{"Convert {0} {1} to {2}.", "How many {2} is {0} {1}?", "What is {0} {1} in {2}?"},
		slots: func(r *rand.Rand) []string {
			u := shortUnits[r.IntN(len(shortUnits))]
			return []string{fmt.Sprint(1 + r.IntN(2000)), u[0], u[1]}
		}},
	{model: "gpt-4.1", phrasings: []string{"What is {0} times {1}?", "Calculate {0} * {1}.", "What's {0} multiplied by {1}?", "Multiply {0} by {1}."},
		slots: draw(number(2, 999), number(2, 999))},
	{model: "gpt-4o-mini", phrasings: []string{"Translate \"{0}\" into {1}.", "How do you say \"{0}\" in {1}?", "\"{0}\" in {1}, please."},
		slots: draw(from(shortPhrases...), from(shortLanguages...))},
	{model: "gpt-4.1", system: "You are a senior software engineer. Answer with working code and a short explanation.",
		phrasings: []string{"How do I {0} in {1}?", "Write a {1} function to {0}.", "{1}: how to {0}?", "What is the idiomatic way to {0} in {1}?"},
		slots:     draw(from(shortTasks...), from(shortPLangs...))},
	{model: "gpt-4o", system: supportSystem,
		phrasings: []string{"How do I {0} on my {1}?", "I can't {0} on my {1}, what should I do?", "{1}: how can I {0}?"},
		slots:     draw(from(shortActions...), from(shortDevices...))},
	{model: "gpt-4o", system: supportSystem,
		phrasings: []string{"Why was I charged ${0}.{1} in {2}?", "There is a charge of ${0}.{1} from {2} on my card, what is it for?", "Unexpected ${0}.{1} charge in {2}?"},
		slots:     draw(number(5, 99), number(10, 99), from(shortMonths...))},
	{model: "gpt-4o-mini", phrasings: []string{"How many calories are in {0} grams of {1}?", "Calories in {0} g of {1}?", "How much energy does {0} grams of {1} have?"},
		slots: draw(number(20, 600), from(shortFoods...))},
	{model: "gpt-4o", phrasings: []string{"What does {0} mean?", "Explain {0} in simple terms.", "Can you explain {0} to a beginner?", "Define {0}."},
		slots: draw(from(shortTerms...))},
	{model: "gpt-4o-mini", phrasings: []string{"How long is the flight from {0} to {1}?", "Flight time {0} to {1}?", "How many hours does it take to fly from {0} to {1}?"},
		slots: draw(from(shortCities...), from(shortCities...))},
	{model: "gpt-4o", phrasings: []string{"What day of the week was {0} {1}, {2}?", "Which weekday was {0} {1}, {2}?", "{0} {1}, {2} was which day of the week?"},
		slots: draw(from(shortMonths...), number(1, 28), number(1900, 2025))},
	{model: "gpt-4o-mini", phrasings: []string{"thanks!", "thank you", "ok, thanks", "great, that helped", "hello", "hi there"},
		slots: nil},
}

var (
	shortOpeners = []string{"Hi, ", "Hello! ", "Quick question: ", "Hey, ", "Sorry to bother you, but ", "I'm new here. ", "One more thing: "}
	shortClosers = []string{" Thanks!", " Thank you.", " Thanks in advance.", " It's for work.", " Please be brief."}
)
