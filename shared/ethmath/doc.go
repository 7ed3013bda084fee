// Package ethmath is the exact arithmetic between credits, US dollars and wei that
// crypto payments need: an ETH/USD price as an integer with 8 decimals (the shape of a
// Chainlink answer), the wei that buys a number of credits at that price, the credits
// that a number of wei buys, and exact decimal text for prices, wei and ETH.
//
// There are no floats anywhere. Wei amounts overflow an int64 at about 9.2 ETH, so
// they are *big.Int; that is why this package is separate from package shared, which
// the WebAssembly app compiles and keeps small. Only the backend imports ethmath.
//
// The rounding is chosen so that a quote can be paid exactly: WeiForCredits rounds up
// and CreditsForWei rounds down, and for every price an int64 can hold, paying exactly
// the quoted wei buys exactly the quoted credits (one wei less buys one credit less).
// Any other amount buys proportionally: underpaying buys fewer credits, overpaying more.
package ethmath
