# 042_pgvector_migration.pl: a pgvector database restores into vecdb
# (issue 13, the part vecdb has the objects for).
#
# pgvector is not packaged here, so the dump is written as pg_dump 15
# writes one of a pgvector 0.8 database (plain format, --create): its
# search_path emptied, every type, opclass, operator and function
# schema-qualified with public, index options as strings, pgvector's
# setting in ALTER DATABASE ... SET. README's recipe ("Moving from
# pgvector") is what the test runs: CREATE EXTENSION vecdb in the new
# database, then the dump without its two lines about the vector
# extension. Then:
#
#   - every statement runs (halfvec, sparsevec, ivfflat and bit
#     quantization included, and GRANTs on functions only pgvector's own
#     operator classes use);
#   - an hnsw bit_hamming_ops index over binary_quantize answers as near
#     as exact;
#   - the sparsevec rows come back as written, and an exact search over
#     them by inner product agrees with the sums done in Perl;
#   - every row is there, and each hnsw index (four opclasses, an
#     expression index over subvector, WITH options) is used by its query
#     and finds the exact top 10 of 20 queries at recall >= 0.95;
#   - the ivfflat index (WITH (lists = '10')) too, with ivfflat.probes
#     set to every list, as a pgvector user would for exact answers;
#   - a view over pgvector's operators and functions answers as the same
#     query does;
#   - the database's hnsw.ef_search (from the dump's ALTER DATABASE) is
#     honoured;
#   - vecdb_index_check finds nothing wrong in any index.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pgvector_migration');
$node->init;
$node->append_conf('postgresql.conf', "autovacuum = off\n");
$node->start;

# the data: 2,000 rows of 8 dims, deterministic
srand(42);
my $dims = 8;
my @rows = map {
	my $id = $_;
	[ $id, $id % 5, '[' . join(',', map { sprintf('%.4f', rand() * 2 - 1) } 1 .. $dims) . ']' ]
} 1 .. 2000;

# SPLADE-like sparse rows: a few terms of BERT's 30,522, small integer
# weights (so that every inner product is exact in float4 and the top 10
# is unambiguous after the id tie-break)
my @sparse = map {
	my %t = map { (1 + int(rand(30522))) => 1 + int(rand(9)) } 1 .. 3 + int(rand(20));
	\%t
} 1 .. 200;
sub sparse_text
{
	my ($t) = @_;
	return '{' . join(',', map { "$_:$t->{$_}" } sort { $a <=> $b } keys %$t) . '}/30522';
}
sub sparse_dot
{
	my ($a, $b) = @_;
	my $sum = 0;
	$sum += $a->{$_} * ($b->{$_} // 0) for keys %$a;
	return $sum;
}

my $dump = <<'SQL';
--
-- PostgreSQL database dump
--

-- Dumped from database version 15.8 (Debian 15.8-0+deb12u1)
-- Dumped by pg_dump version 15.8 (Debian 15.8-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

ALTER DATABASE migrated SET "hnsw.ef_search" TO '100';

--
-- Name: vector; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;


--
-- Name: EXTENSION vector; Type: COMMENT; Schema: -; Owner: 
--

COMMENT ON EXTENSION vector IS 'vector data type and ivfflat and hnsw access methods';


SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: documents; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.documents (
    id bigint NOT NULL,
    category integer NOT NULL,
    embedding public.vector(8)
);


ALTER TABLE public.documents OWNER TO postgres;

--
-- Name: half_documents; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.half_documents (
    id bigint NOT NULL,
    embedding public.halfvec(8)
);


ALTER TABLE public.half_documents OWNER TO postgres;

--
-- Name: sparse_documents; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.sparse_documents (
    id bigint NOT NULL,
    terms public.sparsevec(30522)
);


ALTER TABLE public.sparse_documents OWNER TO postgres;

--
-- Name: nearest_to_origin; Type: VIEW; Schema: public; Owner: postgres
--

CREATE VIEW public.nearest_to_origin AS
 SELECT documents.id,
    (documents.embedding OPERATOR(public.<->) '[0,0,0,0,0,0,0,0]'::public.vector) AS distance,
    public.vector_dims(documents.embedding) AS dims,
    public.l2_normalize(documents.embedding) AS unit
   FROM public.documents
  ORDER BY (documents.embedding OPERATOR(public.<->) '[0,0,0,0,0,0,0,0]'::public.vector)
 LIMIT 5;


ALTER TABLE public.nearest_to_origin OWNER TO postgres;

--
-- Data for Name: documents; Type: TABLE DATA; Schema: public; Owner: postgres
--

COPY public.documents (id, category, embedding) FROM stdin;
SQL
$dump .= join('', map { "$_->[0]\t$_->[1]\t$_->[2]\n" } @rows) . "\\.\n\n";
$dump .= "COPY public.half_documents (id, embedding) FROM stdin;\n"
  . join('', map { "$_->[0]\t$_->[2]\n" } @rows[0 .. 499]) . "\\.\n\n";
$dump .= "COPY public.sparse_documents (id, terms) FROM stdin;\n"
  . join('', map { "$_\t" . sparse_text($sparse[$_]) . "\n" } 0 .. $#sparse) . "\\.\n\n";
# as a Supabase dump grants on every one of pgvector's functions, those
# that only pgvector's own classes use among them
$dump .= "GRANT ALL ON FUNCTION public.$_ TO postgres;\n" for (
	'array_to_sparsevec(real[], integer, boolean)', 'hnswhandler(internal)',
	'ivfflathandler(internal)',                     'hnsw_halfvec_support(internal)',
	'hnsw_bit_support(internal)',                   'hnsw_sparsevec_support(internal)',
	'ivfflat_halfvec_support(internal)',            'ivfflat_bit_support(internal)',
	'vector_spherical_distance(public.vector, public.vector)',
	'halfvec_spherical_distance(public.halfvec, public.halfvec)');
$dump .= "\n";
$dump .= <<'SQL';

--
-- Name: documents documents_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.documents
    ADD CONSTRAINT documents_pkey PRIMARY KEY (id);


--
-- Name: documents_embedding_cosine; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_embedding_cosine ON public.documents USING hnsw (embedding public.vector_cosine_ops) WITH (m='16', ef_construction='64');


--
-- Name: documents_embedding_ip; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_embedding_ip ON public.documents USING hnsw (embedding public.vector_ip_ops);


--
-- Name: documents_embedding_ivfflat; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_embedding_ivfflat ON public.documents USING ivfflat (embedding public.vector_l2_ops) WITH (lists='10');


--
-- Name: documents_embedding_l1; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_embedding_l1 ON public.documents USING hnsw (embedding public.vector_l1_ops) WITH (m='8', ef_construction='40');


--
-- Name: documents_embedding_l2; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_embedding_l2 ON public.documents USING hnsw (embedding public.vector_l2_ops);


--
-- Name: documents_embedding_sorted; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_embedding_sorted ON public.documents USING btree (embedding);


--
-- Name: half_documents_embedding_idx; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX half_documents_embedding_idx ON public.half_documents USING hnsw (embedding public.halfvec_cosine_ops);


--
-- Name: documents_bits; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_bits ON public.documents USING btree (((public.binary_quantize(embedding))::bit(8)));


--
-- Name: documents_bits_hnsw; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_bits_hnsw ON public.documents USING hnsw (((public.binary_quantize(embedding))::bit(8)) public.bit_hamming_ops);


--
-- Name: documents_head; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX documents_head ON public.documents USING hnsw (((public.subvector(embedding, 1, 4))::public.vector(4)) public.vector_l2_ops);


--
-- PostgreSQL database dump complete
--

SQL

my $dir = PostgreSQL::Test::Utils::tempdir;
my $file = "$dir/pgvector.sql";
open(my $fh, '>', $file) or die "cannot write $file: $!";
print $fh $dump;
close $fh;

# README's recipe
$node->safe_psql('postgres', 'CREATE DATABASE migrated');
$node->safe_psql('migrated', 'CREATE EXTENSION vecdb');
my $filtered = join '', grep { !/^(CREATE EXTENSION IF NOT EXISTS vector |COMMENT ON EXTENSION vector )/ }
  split /^/, $dump;
my ($rc, $out, $err) = $node->psql('migrated', $filtered, on_error_stop => 0);
my @errors = ($err =~ /ERROR:\s+([^\n]*)/g);
is_deeply(
	[ sort @errors ], [], 'every statement of the dump runs')
  or diag($err);

is($node->safe_psql('migrated', 'SELECT count(*) FROM public.documents'), '2000', 'every row restored');
is($node->safe_psql('migrated', q{SELECT count(*) FROM pg_indexes WHERE tablename = 'documents'}),
	'10', 'the primary key, two btrees, six hnsw indexes (one over bit) and the ivfflat one');

# each hnsw index: its query uses it and finds the exact answer
my %index_query = (
	documents_embedding_l2     => [ '<->', 'embedding' ],
	documents_embedding_cosine => [ '<=>', 'embedding' ],
	documents_embedding_ip     => [ '<#>', 'embedding' ],
	documents_embedding_l1     => [ '<+>', 'embedding' ],
	documents_head             => [ '<->', 'subvector(embedding, 1, 4)::vector(4)' ],
	documents_embedding_ivfflat => [ '<->', 'embedding' ],);
my @queries = map { $rows[ $_ * 97 ][2] } 0 .. 19;
# The ivfflat and the L2 hnsw index serve the same operator: a query meant
# for one runs in a transaction that drops the other, rolled back.
my %rival = (
	documents_embedding_l2      => 'documents_embedding_ivfflat',
	documents_embedding_ivfflat => 'documents_embedding_l2');
sub only
{
	my ($index) = @_;
	return $rival{$index} ? "BEGIN; DROP INDEX $rival{$index}; " : '';
}
for my $index (sort keys %index_query)
{
	my ($op, $expr) = @{ $index_query{$index} };
	my $head = $index eq 'documents_head';
	my @found;
	my @exact;
	for my $q (@queries)
	{
		my $qv = $head ? "subvector('$q'::vector, 1, 4)::vector(4)" : "'$q'::vector";
		my $sql = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM documents ORDER BY $expr $op $qv, id LIMIT 10) s";
		my $only = only($index);
		$only .= 'SET LOCAL ivfflat.probes = 10; ' if $only;
		my $end = $only ? '; ROLLBACK' : '';
		my $got = $node->safe_psql('migrated', "${only}SET LOCAL enable_seqscan = off; $sql$end");
		push @found, (split /\n/, $got)[0];
		push @exact, $node->safe_psql('migrated', "SET enable_indexscan = off; SET enable_bitmapscan = off; $sql");
	}
	my $only = only($index);
	my $plan = $node->safe_psql('migrated',
		"${only}SET LOCAL enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM documents ORDER BY $expr $op "
		  . ($head ? "subvector('$queries[0]'::vector, 1, 4)::vector(4)" : "'$queries[0]'::vector")
		  . ' LIMIT 10' . ($only ? '; ROLLBACK' : ''));
	like($plan, qr/Index Scan using $index/, "$index answers its query");
	my ($hits, $total) = (0, 0);
	for my $i (0 .. $#queries)
	{
		my %truth = map { $_ => 1 } split /,/, $exact[$i];
		$total += scalar keys %truth;
		$hits += grep { $truth{$_} } split /,/, $found[$i];
	}
	cmp_ok($hits / $total, '>=', 0.95, "$index: recall\@10 over 20 queries ($hits of $total)");
	is($node->safe_psql('migrated', "SELECT count(*) FROM vecdb_index_check('$index')"),
		'0', "vecdb_index_check finds nothing wrong in $index");
}

# the halfvec table: its rows, and its hnsw index's answers
is($node->safe_psql('migrated', 'SELECT count(*) FROM half_documents'), '500', 'the halfvec rows restored');
my $half_q = "SELECT string_agg(id::text, ',') FROM (SELECT id FROM half_documents ORDER BY embedding <=> '$queries[0]', id LIMIT 10) s";
my $half_plan = $node->safe_psql('migrated', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM half_documents ORDER BY embedding <=> '$queries[0]' LIMIT 10");
like($half_plan, qr/Index Scan using half_documents_embedding_idx/, 'the halfvec hnsw index answers its query');
is($node->safe_psql('migrated', "SET enable_seqscan = off; $half_q"),
	$node->safe_psql('migrated', "SET enable_indexscan = off; $half_q"), 'and finds the exact top 10');
is($node->safe_psql('migrated', "SELECT count(*) FROM vecdb_index_check('half_documents_embedding_idx')"),
	'0', 'vecdb_index_check finds nothing wrong in the halfvec index');

# the hnsw index over binary_quantize: used, and no farther than exact
{
	my $q = "(binary_quantize(embedding)::bit(8)) <~> binary_quantize('$queries[0]'::vector)::bit(8)";
	like($node->safe_psql('migrated', "SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM documents ORDER BY $q LIMIT 10"),
		qr/Index Scan using documents_bits_hnsw/, 'the bit_hamming_ops index answers its query');
	my $kth = "SELECT max(d) FROM (SELECT $q AS d FROM documents ORDER BY $q LIMIT 10) s";
	is($node->safe_psql('migrated', "SET enable_seqscan = off; $kth"),
		$node->safe_psql('migrated', "SET enable_indexscan = off; $kth"),
		'and its 10 nearest are as near as the exact 10');
}

# the sparsevec table: every value as written, and an exact search by
# inner product that agrees with the same sums done here
is($node->safe_psql('migrated', q{SELECT string_agg(terms::text, ';' ORDER BY id) FROM sparse_documents}),
	join(';', map { sparse_text($_) } @sparse), 'the sparsevec rows restored as written');
{
	my $q = $sparse[7];
	my @expected = (sort { sparse_dot($sparse[$b], $q) <=> sparse_dot($sparse[$a], $q) || $a <=> $b } 0 .. $#sparse)[0 .. 9];
	my $text = sparse_text($q);
	is($node->safe_psql('migrated',
			"SELECT string_agg(id::text, ',') FROM (SELECT id FROM sparse_documents ORDER BY terms <#> '$text', id LIMIT 10) s"),
		join(',', @expected), 'an exact sparsevec search by inner product');
}

# the view over pgvector's operators and functions
is($node->safe_psql('migrated', 'SELECT string_agg(id::text, \',\' ORDER BY distance) FROM nearest_to_origin'),
	$node->safe_psql('migrated', q{SELECT string_agg(id::text, ',') FROM
		(SELECT id FROM documents ORDER BY embedding <-> '[0,0,0,0,0,0,0,0]' LIMIT 5) s}),
	'the view answers as its query does');
is($node->safe_psql('migrated', 'SELECT bool_and(dims = 8 AND abs(vector_norm(unit) - 1) < 1e-5) FROM nearest_to_origin'),
	't', 'with vector_dims and l2_normalize');

# the database's hnsw.ef_search from the dump: a new session searches
# wider than at vecdb's default
my $visited = q{
	SELECT hnsw_visited FROM vecdb_backend_counters()};
my $search = "BEGIN; DROP INDEX documents_embedding_ivfflat; SET LOCAL enable_seqscan = off;"
  . " SELECT id FROM documents ORDER BY embedding <-> '$queries[0]' LIMIT 10; ROLLBACK";
is($node->safe_psql('migrated', 'SHOW hnsw.ef_search'), '100', 'the dump\'s ALTER DATABASE SET is in force');
my $wide = $node->safe_psql('migrated', "$search; $visited");
my $narrow = $node->safe_psql('migrated', "SET hnsw.ef_search = 10; $search; $visited");
($wide) = reverse split /\n/, $wide;
($narrow) = reverse split /\n/, $narrow;
cmp_ok($wide, '>', $narrow, "hnsw.ef_search 100 from the database visits more than 10 ($wide > $narrow)");

$node->stop;
done_testing();
