// Dies at once, every time: a crash loop for the supervisor to notice.
process.stderr.write('crash fixture: failing on purpose\n');
process.exit(3);
