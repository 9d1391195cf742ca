#!/bin/sh
# SPDX-License-Identifier: MIT
# Guest side of tests/libnuma/run-guests: numactl's tests with Debian's
# libnuma and membind's, from the bundle run-numactl-tests --bundle made.
# The table goes to the console; the test fails if membind fails a test
# that passes with Debian's library.
cd /membind/numactl-tests || exit 1
if [ ! -x /membind/bash ]; then
	echo "SKIP: no bash in the guest (run-guests adds it)"
	exit 77
fi
# numactl's scripts start with #!/bin/bash
ln -sf /membind/bash /bin/bash
MEMBIND_NUMACTL_TIMEOUT=900 /membind/bash ./run-numactl-tests --guest
