package credits

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aispace/credits/shared"
)

// DefaultPricing is the pricing table shipped with the binary; operators replace it
// with a file of the same shape (-pricing).
//
//go:embed pricing_default.json
var DefaultPricing []byte

// Pricing is the operator's price list: what each service costs in credits.
type Pricing struct {
	services map[string]*Service
	order    []string
}

// Service is one priced service. Exactly one way of pricing is set: per 1,000 input
// and/or output tokens, per image by size, or a flat price per call.
type Service struct {
	ID          string           `json:"id"`
	Description string           `json:"description,omitempty"`
	Per1KInput  int64            `json:"per_1k_input_tokens,omitempty"`
	Per1KOutput int64            `json:"per_1k_output_tokens,omitempty"`
	PerImage    map[string]int64 `json:"per_image,omitempty"` // size ("1024x1024") → credits
	Flat        int64            `json:"flat,omitempty"`
}

type pricingFile struct {
	CreditsPerUSD int64      `json:"credits_per_usd"`
	Services      []*Service `json:"services"`
}

// Limits that keep every price computation far from int64 overflow.
const (
	maxUnitPrice = 1_000_000_000
	maxUnits     = 1_000_000_000
)

var serviceID = regexp.MustCompile(`^[a-z0-9][a-z0-9._:/-]{0,99}$`)
var imageSize = regexp.MustCompile(`^[0-9]{2,5}x[0-9]{2,5}$`)

// ParsePricing reads a pricing table and checks it: known fields only, ids unique and
// well-formed, one way of pricing per service, prices positive and bounded.
func ParsePricing(b []byte) (*Pricing, error) {
	var f pricingFile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("pricing: %w", err)
	}
	if f.CreditsPerUSD != 0 && f.CreditsPerUSD != shared.CreditsPerUSD {
		return nil, fmt.Errorf("pricing: credits_per_usd is fixed at %d", shared.CreditsPerUSD)
	}
	p := &Pricing{services: map[string]*Service{}}
	for _, s := range f.Services {
		if !serviceID.MatchString(s.ID) {
			return nil, fmt.Errorf("pricing: service id %q: lowercase letters, digits and ._:/- only", s.ID)
		}
		if p.services[s.ID] != nil {
			return nil, fmt.Errorf("pricing: service %q listed twice", s.ID)
		}
		ways := 0
		if s.Per1KInput != 0 || s.Per1KOutput != 0 {
			ways++
		}
		if len(s.PerImage) > 0 {
			ways++
		}
		if s.Flat != 0 {
			ways++
		}
		if ways != 1 {
			return nil, fmt.Errorf("pricing: service %q needs exactly one of tokens, per_image or flat", s.ID)
		}
		prices := []int64{s.Per1KInput, s.Per1KOutput, s.Flat}
		for size, c := range s.PerImage {
			if !imageSize.MatchString(size) {
				return nil, fmt.Errorf("pricing: service %q: image size %q is not like 1024x1024", s.ID, size)
			}
			prices = append(prices, c)
			if c == 0 {
				return nil, fmt.Errorf("pricing: service %q: size %s has no price", s.ID, size)
			}
		}
		for _, c := range prices {
			if c < 0 || c > maxUnitPrice {
				return nil, fmt.Errorf("pricing: service %q: prices must be between 0 and %d", s.ID, maxUnitPrice)
			}
		}
		p.services[s.ID] = s
		p.order = append(p.order, s.ID)
	}
	return p, nil
}

// Has reports whether the table prices the service.
func (p *Pricing) Has(service string) bool { return p.services[service] != nil }

// Table is the pricing as GET /api/v1/pricing answers it: one line per unit.
func (p *Pricing) Table() shared.Pricing {
	t := shared.Pricing{CreditsPerUSD: shared.CreditsPerUSD, Services: []shared.PricingService{}}
	for _, id := range p.order {
		s := p.services[id]
		line := func(unit string, c int64) {
			t.Services = append(t.Services, shared.PricingService{ID: id, Unit: unit, Credits: c, Description: s.Description})
		}
		if s.Per1KInput > 0 {
			line("1k_input_tokens", s.Per1KInput)
		}
		if s.Per1KOutput > 0 {
			line("1k_output_tokens", s.Per1KOutput)
		}
		sizes := make([]string, 0, len(s.PerImage))
		for size := range s.PerImage {
			sizes = append(sizes, size)
		}
		sort.Strings(sizes)
		for _, size := range sizes {
			line("image_"+size, s.PerImage[size])
		}
		if s.Flat > 0 {
			line("request", s.Flat)
		}
	}
	return t
}

// Price is what a use of a service costs. Units name what was used:
// "input_tokens" and "output_tokens" for token-priced services (rounded up to a whole
// credit over the call), "image_<size>" for images, nothing (or "requests") for flat
// ones. Unknown services and units are refused rather than priced at zero.
func (p *Pricing) Price(service string, units map[string]int64) (int64, error) {
	s := p.services[service]
	if s == nil {
		return 0, Errorf(shared.CodeInvalid, "unknown service %q: see GET /api/v1/pricing", service)
	}
	for u, n := range units {
		if n < 0 || n > maxUnits {
			return 0, Errorf(shared.CodeInvalid, "units.%s must be between 0 and %d", u, maxUnits)
		}
	}
	var total int64
	switch {
	case s.Per1KInput != 0 || s.Per1KOutput != 0:
		var milli int64 // in thousandths of a credit
		for u, n := range units {
			switch u {
			case "input_tokens":
				milli += n * s.Per1KInput
			case "output_tokens":
				milli += n * s.Per1KOutput
			default:
				return 0, Errorf(shared.CodeInvalid, "service %s is priced by input_tokens and output_tokens, not %s", service, u)
			}
		}
		total = (milli + 999) / 1000
	case len(s.PerImage) > 0:
		for u, n := range units {
			c, ok := s.PerImage[strings.TrimPrefix(u, "image_")]
			if !ok || !strings.HasPrefix(u, "image_") {
				return 0, Errorf(shared.CodeInvalid, "service %s has no price for %s", service, u)
			}
			total += n * c
		}
	default:
		n := int64(1)
		for u, v := range units {
			if u != "requests" {
				return 0, Errorf(shared.CodeInvalid, "service %s is priced per request, not by %s", service, u)
			}
			n = v
		}
		total = n * s.Flat
	}
	if total <= 0 {
		return 0, Errorf(shared.CodeInvalid, "this use of %s costs nothing: units are missing", service)
	}
	return total, nil
}
