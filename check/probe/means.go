package probe

import "sleeve-check/check"

// Means is how a credential is proved.
type Means string

const (
	ByHTTP Means = "http" // one tiny Messages request from sleeve-check
	ByCLI  Means = "cli"  // one claude -p, by Claude Code itself
	// ByGateway: the credential gateway that holds the fleet credential
	// is asked what it knows (its one probe, the answers it carried).
	ByGateway Means = "gateway"
)

// Costless reports whether asking by these means costs the API nothing:
// the gateway answers from what it knows. Such an ask is made every time,
// with no splay and no verdict reused from an earlier start or health
// check, so that a revoked key or a gateway that went away shows at once.
func (m Means) Costless() bool { return m == ByGateway }

// GatewayChoice is the choice of a sleeve behind a credential gateway.
var GatewayChoice = Choice{ByGateway, "the credential gateway holds the fleet credential, and knows its verdict from its one probe and the answers it carries"}

// Choice is which probe runs, and why: in the report and --verbose.
type Choice struct {
	Means Means  `json:"means"`
	Why   string `json:"why"`
}

// Choose picks how to prove a credential of kind, given
// SLEEVE_CHECK_PROBE (setting), and says why. Anthropic's terms reserve a
// subscription (OAuth) token for Claude Code: under auto, Claude Code
// proves it; a key any tool may use is proved by the HTTP probe, which
// costs a few ms instead of a Claude Code start.
func Choose(setting string, kind check.Kind) Choice {
	switch {
	case setting == "http":
		return Choice{ByHTTP, "SLEEVE_CHECK_PROBE=http"}
	case setting == "cli":
		return Choice{ByCLI, "SLEEVE_CHECK_PROBE=cli"}
	case kind.Subscription():
		return Choice{ByCLI, "a subscription token is used by Claude Code only (Anthropic's terms), so Claude Code proves it"}
	}
	return Choice{ByHTTP, "an " + string(kind) + " may be used by any tool, so one tiny request proves it"}
}
