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
# test_libnuma on membind's library (its RUNPATH names the build tree,
# which is not in the guest): the API, then memoryless/CPU-less placement.
echo "== test_libnuma on membind's libnuma"
t0=$(date +%s)
LD_LIBRARY_PATH=/membind/numactl-tests/membind-lib /membind/test_libnuma
case $? in
0) echo "test_libnuma-guest: pass ($(($(date +%s) - t0)) s)" ;;
77) echo "test_libnuma-guest: skip ($(($(date +%s) - t0)) s)" ;;
*) echo "test_libnuma-guest: FAIL" ;;
esac
# The weighted interleave calls (Linux 6.9+; a skip says why).
echo "== test_libnuma weighted on membind's libnuma"
LD_LIBRARY_PATH=/membind/numactl-tests/membind-lib /membind/test_libnuma weighted
case $? in
0) echo "test_libnuma-weighted: pass" ;;
77) echo "test_libnuma-weighted: skip" ;;
*) echo "test_libnuma-weighted: FAIL" ;;
esac
MEMBIND_NUMACTL_TIMEOUT=900 /membind/bash ./run-numactl-tests --guest
rc=$?
# For the record (not a pass or fail): the placement checks of
# test_libnuma with Debian's libnuma, to show what it does on this
# topology's memoryless and CPU-less nodes (docs/libnuma.md).
echo "== for comparison: test_libnuma guest on Debian's libnuma"
LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu /membind/test_libnuma guest 2>&1 | sed 's/^/    debian| /'
exit $rc
