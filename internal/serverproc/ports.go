package serverproc

import "net"

// FreePorts returns n distinct loopback TCP ports that were free a moment
// ago. Another process may take one before the caller binds it; callers
// that can retry (StartEtcd, internal/etcdrun) do.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	// All listeners stay open until every port is chosen, so the n ports
	// are distinct.
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort returns one loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ports, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}
