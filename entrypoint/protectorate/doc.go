// Package protectorate runs a sleeve laid out as Protectorate's Envoy
// spawns it: no environment, no tty, no user, the credential in Envoy's
// agent-creds volume (root's files, mode 0600; envoy.go reads them).
//
// `sleeve-check keeper -- claude ...` (Keeper, as root under tini) is the
// small supervisor. Only it keeps root, for one job: reading Envoy's
// files and running the start's checks with them (`sleeve-check --json
// -- true`, which drops to the sleeve user for everything it writes); it
// takes the verdict from that child's JSON report and leaves it in its
// own directory (SLEEVE_CHECK_KEEPER_DIR, root's: verdict.json, read by
// health). It writes nothing into a path the sleeve user controls.
//
// `sleeve-check session -- claude ...` (Session, as the sleeve user, in
// the dtach session Envoy's terminal attaches to) asks the keeper, over a
// unix socket whose peer the keeper checks, for a fresh verdict and the
// environment claude needs; it runs claude with the terminal when the
// check passed and starts it again when it exits, and otherwise shows why
// and checks again every minute or when Enter is pressed.
//
// Both use Linux's peer credentials and terminal calls (keeper.go and
// session.go); elsewhere a stand-in (other.go) says so.
package protectorate
