package textindex

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrSyntax wraps every query syntax error.
var ErrSyntax = errors.New("textindex: query syntax")

// MaxClauses bounds the clauses of one query.
const MaxClauses = 64

// MaxFuzz is the largest edit distance a fuzzy clause may ask for.
const MaxFuzz = 2

// Occur says how a clause takes part in a query.
type Occur uint8

const (
	Should  Occur = iota // scores; a document needs one Should or Must clause
	Must                 // +clause: required
	MustNot              // -clause: excluded
)

// Kind is what a clause matches.
type Kind uint8

const (
	Term   Kind = iota // the analysed terms of a word (any of them)
	Phrase             // "…": the analysed terms in sequence
	Prefix             // foo*: any indexed term starting with the lower-cased text
	Fuzzy              // foo~N: any indexed term within N edits of the analysed word
)

// Clause is one part of a query.
type Clause struct {
	Occur Occur
	Kind  Kind
	Field string // "" means every indexed field
	Text  string // as typed (unescaped); analysed at search time
	Fuzz  int    // Fuzzy: the edit distance (1 or 2)
}

// Query is a parsed keyword query.
//
// Syntax (documented in the README): words separated by spaces score as
// alternatives (OR, as in Lucene and Weaviate); "a b" is a phrase; foo*
// a prefix; foo~ or foo~1 / foo~2 a fuzzy term (edit distance, default
// 2); +clause is required and -clause excluded; field:clause searches
// one field only (content, text.caption, metadata.title, or just title
// for a metadata field); a backslash escapes the next character.
type Query struct {
	Clauses []Clause
}

// Parse parses a keyword query. An empty query (or one of spaces) has no
// clauses and matches nothing.
func Parse(s string) (*Query, error) {
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: not valid UTF-8", ErrSyntax)
	}
	q := &Query{}
	p := parser{s: s}
	for {
		p.skipSpace()
		if p.eof() {
			return q, nil
		}
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		if len(q.Clauses) == MaxClauses {
			return nil, fmt.Errorf("%w: more than %d clauses", ErrSyntax, MaxClauses)
		}
		q.Clauses = append(q.Clauses, *c)
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

func (p *parser) peek() rune {
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return r
}

func (p *parser) next() rune {
	r, n := utf8.DecodeRuneInString(p.s[p.i:])
	p.i += n
	return r
}

func (p *parser) skipSpace() {
	for !p.eof() && unicode.IsSpace(p.peek()) {
		p.next()
	}
}

func (p *parser) clause() (*Clause, error) {
	start := p.i
	c := &Clause{}
	switch p.peek() {
	case '+':
		c.Occur = Must
		p.next()
	case '-':
		c.Occur = MustNot
		p.next()
	}
	if c.Occur != Should && (p.eof() || unicode.IsSpace(p.peek())) {
		return nil, fmt.Errorf("%w: %q at offset %d needs a word or phrase after it", ErrSyntax, p.s[start:p.i], start)
	}
	// field:
	if f, ok := p.field(); ok {
		c.Field = f
		if p.eof() || unicode.IsSpace(p.peek()) {
			return nil, fmt.Errorf("%w: field %q at offset %d needs a word or phrase after it", ErrSyntax, f, start)
		}
	}
	if p.peek() == '"' {
		p.next()
		var b strings.Builder
		for {
			if p.eof() {
				return nil, fmt.Errorf("%w: unclosed quote opened at offset %d", ErrSyntax, start)
			}
			r := p.next()
			if r == '\\' && !p.eof() {
				b.WriteRune(p.next())
				continue
			}
			if r == '"' {
				break
			}
			b.WriteRune(r)
		}
		c.Kind, c.Text = Phrase, b.String()
		if !p.eof() && !unicode.IsSpace(p.peek()) {
			return nil, fmt.Errorf("%w: unexpected %q after the phrase closed at offset %d", ErrSyntax, p.peek(), p.i)
		}
		return c, nil
	}
	var b strings.Builder
	escaped := false // the last character was escaped
	for !p.eof() && !unicode.IsSpace(p.peek()) {
		r := p.next()
		escaped = false
		if r == '\\' && !p.eof() {
			b.WriteRune(p.next())
			escaped = true
			continue
		}
		if r == '"' {
			return nil, fmt.Errorf("%w: a quote inside a word at offset %d (put spaces around a phrase, or escape it)", ErrSyntax, p.i-1)
		}
		if r == '~' {
			// fuzzy: ~ or ~N ends the word
			c.Kind, c.Fuzz = Fuzzy, MaxFuzz
			if !p.eof() && !unicode.IsSpace(p.peek()) {
				d := p.next()
				if d < '0' || d > '0'+MaxFuzz || (!p.eof() && !unicode.IsSpace(p.peek())) {
					return nil, fmt.Errorf("%w: fuzzy distance at offset %d must be 0, 1 or 2", ErrSyntax, p.i-1)
				}
				c.Fuzz = int(d - '0')
			}
			break
		}
		b.WriteRune(r)
	}
	c.Text = b.String()
	if c.Kind != Fuzzy && strings.HasSuffix(c.Text, "*") && !escaped {
		c.Kind, c.Text = Prefix, strings.TrimSuffix(c.Text, "*")
	}
	if c.Text == "" {
		if c.Kind == Prefix {
			return nil, fmt.Errorf("%w: a bare * at offset %d (a prefix needs at least one character)", ErrSyntax, start)
		}
		return nil, fmt.Errorf("%w: empty clause at offset %d", ErrSyntax, start)
	}
	if c.Kind == Fuzzy && c.Fuzz == 0 {
		c.Kind = Term
	}
	return c, nil
}

// field consumes "name:" when the text at the cursor starts with a field
// name ([A-Za-z0-9_.-]+) followed by a colon and something else.
func (p *parser) field() (string, bool) {
	j := p.i
	for j < len(p.s) {
		ch := p.s[j]
		if ch == ':' {
			break
		}
		if !(ch == '_' || ch == '.' || ch == '-' || ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z') {
			return "", false
		}
		j++
	}
	if j == p.i || j >= len(p.s)-1 || p.s[j] != ':' {
		return "", false
	}
	f := p.s[p.i:j]
	p.i = j + 1
	return f, true
}

// String writes the query back in its syntax.
func (q *Query) String() string {
	var b strings.Builder
	for i, c := range q.Clauses {
		if i > 0 {
			b.WriteByte(' ')
		}
		switch c.Occur {
		case Must:
			b.WriteByte('+')
		case MustNot:
			b.WriteByte('-')
		}
		if c.Field != "" {
			b.WriteString(c.Field)
			b.WriteByte(':')
		}
		switch c.Kind {
		case Phrase:
			b.WriteByte('"')
			b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(c.Text))
			b.WriteByte('"')
		default:
			b.WriteString(escapeWord(c.Text))
			switch c.Kind {
			case Prefix:
				b.WriteByte('*')
			case Fuzzy:
				fmt.Fprintf(&b, "~%d", c.Fuzz)
			}
		}
	}
	return b.String()
}

func escapeWord(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r == '\\' || r == '"' || r == '~' || r == ':' || unicode.IsSpace(r) || (i == 0 && (r == '+' || r == '-')) || (r == '*' && i == len(s)-1) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
