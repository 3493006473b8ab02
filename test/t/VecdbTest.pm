# VecdbTest.pm: helpers shared by vecdb's TAP tests.
package VecdbTest;

use strict;
use warnings;

use Exporter 'import';
our @EXPORT_OK = qw(random_float_bits);

# A random float4, as its 32 bits: half the time any finite bit pattern
# (denormals, -0, the extremes), half the time a modest value. Callers seed
# rand() themselves so that each test is reproducible.
sub random_float_bits
{
	if (rand() < 0.5)
	{
		while (1)
		{
			my $bits = int(rand(2**32));
			next if (($bits >> 23) & 0xff) == 0xff;    # NaN or Infinity
			return $bits;
		}
	}
	return unpack('N', pack('f>', (rand() - 0.5) * 10**(int(rand(9)) - 4)));
}

1;
