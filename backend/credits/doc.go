// Package credits holds the rules of credits: lots that expire, the daily renewal at
// 0:00 UTC, the order in which credits are spent, holds, captures, releases and
// clawbacks. It is pure: no I/O and no clock — every function that depends on time
// takes it as an argument, so the same inputs always give the same account, which is
// what lets the ledger rebuild every account by replaying its journal.
//
// The rules, from SPEC §4 and §5:
//
//   - Every addition is a Lot. A lot expires 30 days after it was added, rounded up to
//     the next 0:00:00 UTC, so a holder always gets at least 30 full days and every
//     expiry falls on the daily boundary.
//   - The day turns over at 0:00:00 UTC. Whatever touches an account first calls
//     Advance, which expires lots past their expiry, grants the day's allowance as a
//     lot that expires at the next 0:00 UTC, restarts the daily spending cap and
//     releases holds past their expiry. Advance is idempotent, so the renewal is lazy:
//     a read or a spend after midnight sees the new day even if no job ran.
//   - Spending takes from the lot that expires soonest first (ties: added first, then
//     by id), so the daily allowance goes before purchased credits.
//   - A hold reserves credits in the lots they would be spent from. Held credits stay
//     reserved even if their lot reaches its expiry while the hold is open: the hold
//     was granted before the expiry, so its capture is honoured; what is released
//     from an expired lot expires at that moment.
//   - Balance is what remains in unexpired lots, minus what is held, minus debt.
//     Spending never makes it negative; only a clawback may: a refund or a lost
//     dispute takes back from what remains of that purchase's lot, and what the lot
//     no longer has is recorded as debt, shown, and repaid first from the next
//     credits added.
package credits
