# fake_token KIND TAIL: a credential of the real shape that is plainly not
# one ("sk-ant-KIND-", a filler of FAKE, TAIL; 108 characters), the shell
# twin of anthropictest.FakeToken. Sourced by the demo and the e2e scripts,
# so that no token-shaped literal is committed.
fake_token() {
	head="sk-ant-$1-"
	n=$((108 - ${#head} - ${#2}))
	filler=$(printf 'FAKE%.0s' $(seq 1 $((n / 4 + 1))) | cut -c1-"$n")
	printf '%s%s%s' "$head" "$filler" "$2"
}
