package shared

// The request and response bodies of API.md. Field names are binding: add, never
// rename. Times are RFC 3339 UTC strings; usd is a decimal string with two places at
// most; credits are integers; wei is a decimal string.

// Error codes of API.md, stable for clients.
const (
	CodeInvalid             = "invalid"
	CodeUnauthorized        = "unauthorized"
	CodeForbidden           = "forbidden"
	CodeNotFound            = "not_found"
	CodeConflict            = "conflict"
	CodeInsufficientCredits = "insufficient_credits"
	CodePriceUnavailable    = "price_unavailable"
	CodeRateLimited         = "rate_limited"
	CodeUnavailable         = "unavailable" // added: a standby instance or a stepping-down writer (503 with Retry-After)
	CodeInternal            = "internal"
)

// ErrorBody is every error answer: {"error": {"code", "message"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail names a stable code and says, for people, what went wrong.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Price is GET /api/v1/price.
type Price struct {
	EthUSD    string `json:"eth_usd"`
	Source    string `json:"source"`
	UpdatedAt string `json:"updated_at"`
}

// Pricing is GET /api/v1/pricing.
type Pricing struct {
	CreditsPerUSD int64            `json:"credits_per_usd"`
	Services      []PricingService `json:"services"`
}

// PricingService is one priced line: a service and what one unit of it costs.
type PricingService struct {
	ID          string `json:"id"`
	Unit        string `json:"unit"`
	Credits     int64  `json:"credits"`
	Description string `json:"description,omitempty"`
}

// Purchase methods.
const (
	MethodCrypto = "crypto"
	MethodCard   = "card"
)

// Purchase statuses, in the order a crypto purchase moves through them.
const (
	StatusPending   = "pending"
	StatusSubmitted = "submitted"
	StatusSeen      = "seen"
	StatusConfirmed = "confirmed"
	StatusCredited  = "credited"
	StatusExpired   = "expired"
	StatusFailed    = "failed"
)

// CreatePurchaseRequest is POST /api/v1/purchases.
type CreatePurchaseRequest struct {
	USD    string `json:"usd"`
	Method string `json:"method"`
	Wallet string `json:"wallet,omitempty"`
}

// PurchaseCreated is the 201 answer to POST /api/v1/purchases. Secret is returned
// only here, once.
type PurchaseCreated struct {
	ID      string        `json:"id"`
	Secret  string        `json:"secret"`
	Method  string        `json:"method"`
	USD     string        `json:"usd"`
	Credits int64         `json:"credits"`
	Status  string        `json:"status"`
	Crypto  *CryptoQuote  `json:"crypto,omitempty"`
	Card    *CardCheckout `json:"card,omitempty"`
}

// CryptoQuote is the locked price of a crypto purchase.
type CryptoQuote struct {
	To           string `json:"to"`
	ChainID      uint64 `json:"chain_id"`
	Wei          string `json:"wei"`
	ETH          string `json:"eth"`
	EthUSD       string `json:"eth_usd"`
	ExpiresAt    string `json:"expires_at"`
	EIP681       string `json:"eip681"`
	MetaMaskLink string `json:"metamask_link"`
}

// CardCheckout is where the buyer pays by card.
type CardCheckout struct {
	CheckoutURL string `json:"checkout_url"`
}

// PurchaseStatus is GET /api/v1/purchases/{id}. Key is present only once, on the first
// read after the purchase was credited to a new account.
type PurchaseStatus struct {
	ID             string       `json:"id"`
	Method         string       `json:"method,omitempty"`
	Status         string       `json:"status"`
	USD            string       `json:"usd,omitempty"`
	Credits        int64        `json:"credits,omitempty"`
	CreditsGranted int64        `json:"credits_granted"`
	TxHash         string       `json:"tx_hash,omitempty"`
	Confirmations  int64        `json:"confirmations"`
	Key            string       `json:"key,omitempty"`
	KeyDelivered   bool         `json:"key_delivered,omitempty"`
	TopUp          bool         `json:"top_up,omitempty"`
	Crypto         *CryptoQuote `json:"crypto,omitempty"`
	Message        string       `json:"message,omitempty"`
}

// SubmitTxRequest is POST /api/v1/purchases/{id}/tx.
type SubmitTxRequest struct {
	TxHash string `json:"tx_hash"`
}

// WSHello is the first message a purchase page sends on /api/v1/ws.
type WSHello struct {
	Secret string `json:"secret"`
}

// WSMessage is every message the server sends on /api/v1/ws; Type says which fields
// are set: "price" (EthUSD, Source, UpdatedAt), "purchase" (Status, Confirmations,
// CreditsGranted, TxHash) or "key" (Key, once).
type WSMessage struct {
	Type           string `json:"type"`
	EthUSD         string `json:"eth_usd,omitempty"`
	Source         string `json:"source,omitempty"`
	UpdatedAt      string `json:"updated_at,omitempty"`
	Status         string `json:"status,omitempty"`
	Confirmations  int64  `json:"confirmations,omitempty"`
	CreditsGranted int64  `json:"credits_granted,omitempty"`
	TxHash         string `json:"tx_hash,omitempty"`
	Key            string `json:"key,omitempty"`
	Message        string `json:"message,omitempty"` // why a purchase failed or expired
}

// SessionRequest is POST /api/v1/session.
type SessionRequest struct {
	Key string `json:"key"`
}

// Account is GET /api/v1/account.
type Account struct {
	Balance        int64  `json:"balance"`
	Used           int64  `json:"used"`
	Held           int64  `json:"held"`
	Lots           []Lot  `json:"lots"`
	KeyHint        string `json:"key_hint"`
	NextRenewalAt  string `json:"next_renewal_at"`
	DailyCap       *int64 `json:"daily_cap"`
	SpentToday     int64  `json:"spent_today"`
	DailyAllowance int64  `json:"daily_allowance"`
	Suspended      bool   `json:"suspended,omitempty"`
	Debt           int64  `json:"debt,omitempty"`
}

// Lot is one addition of credits and what is left of it.
type Lot struct {
	ID        string `json:"id"`
	Source    string `json:"source"`
	Credits   int64  `json:"credits"`
	Remaining int64  `json:"remaining"`
	AddedAt   string `json:"added_at"`
	ExpiresAt string `json:"expires_at"`
	Expired   bool   `json:"expired,omitempty"`
}

// KeyBody is GET /api/v1/account/key and POST /api/v1/account/key/rotate.
type KeyBody struct {
	Key string `json:"key"`
}

// DailyCapRequest is POST /api/v1/account/daily-cap (added): null removes the cap.
type DailyCapRequest struct {
	DailyCap *int64 `json:"daily_cap"`
}

// Usage is GET /api/v1/account/usage.
type Usage struct {
	Items      []UsageItem `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

// UsageItem is one debit.
type UsageItem struct {
	ID             string           `json:"id"`
	Service        string           `json:"service"`
	Units          map[string]int64 `json:"units"`
	Credits        int64            `json:"credits"`
	At             string           `json:"at"`
	IdempotencyKey string           `json:"idempotency_key,omitempty"`
	Kind           string           `json:"kind,omitempty"`
}

// RecoverChallengeRequest is POST /api/v1/recover/challenge.
type RecoverChallengeRequest struct {
	Wallet string `json:"wallet"`
}

// RecoverChallenge is the message the wallet signs.
type RecoverChallenge struct {
	Message string `json:"message"`
}

// RecoverRequest is POST /api/v1/recover.
type RecoverRequest struct {
	Wallet    string `json:"wallet"`
	Signature string `json:"signature"`
}

// ChargeRequest is POST /api/v1/charges: priced by Service and Units from the pricing
// table, or by explicit Credits.
type ChargeRequest struct {
	Key            string           `json:"key"`
	IdempotencyKey string           `json:"idempotency_key"`
	Service        string           `json:"service,omitempty"`
	Units          map[string]int64 `json:"units,omitempty"`
	Credits        *int64           `json:"credits,omitempty"`
}

// ChargeResult is the 200 answer to a charge.
type ChargeResult struct {
	ID      string `json:"id"`
	Charged int64  `json:"charged"`
	Balance int64  `json:"balance"`
}

// HoldRequest is POST /api/v1/holds.
type HoldRequest struct {
	Key            string `json:"key"`
	IdempotencyKey string `json:"idempotency_key"`
	Credits        int64  `json:"credits"`
	TTLSeconds     int64  `json:"ttl_seconds"`
	Service        string `json:"service,omitempty"`
}

// HoldResult is the 201 answer to a hold.
type HoldResult struct {
	ID        string `json:"id"`
	Credits   int64  `json:"credits"`
	ExpiresAt string `json:"expires_at"`
}

// CaptureRequest is POST /api/v1/holds/{id}/capture.
type CaptureRequest struct {
	Credits int64 `json:"credits"`
}

// CaptureResult is the 200 answer to a capture.
type CaptureResult struct {
	Charged int64 `json:"charged"`
	Balance int64 `json:"balance"`
}

// ReleaseResult is the 200 answer to a release.
type ReleaseResult struct {
	Released int64 `json:"released"`
	Balance  int64 `json:"balance"`
}

// Config is GET /api/v1/config (added): what the PWA needs to know of the operator's
// settings before it shows the Buy page.
type Config struct {
	ChainID            uint64 `json:"chain_id"`
	ChainName          string `json:"chain_name"`
	RPCURL             string `json:"rpc_url"`
	ExplorerURL        string `json:"explorer_url"`
	PaymentAddress     string `json:"payment_address"`
	CardEnabled        bool   `json:"card_enabled"`
	CardMinUSD         string `json:"card_min_usd"`
	MaxUSD             string `json:"max_usd"`
	Confirmations      int64  `json:"confirmations"`
	WalletConnectID    string `json:"walletconnect_project_id,omitempty"`
	Dev                bool   `json:"dev"`
	QuoteWindowSeconds int64  `json:"quote_window_seconds"`
}
