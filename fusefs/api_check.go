package fusefs

import "github.com/hanwen/go-fuse/v2/fs"

// What each node and handle type implements, checked at compile time.
var (
	_ = (fs.NodeGetattrer)((*folderNode)(nil))
	_ = (fs.NodeReaddirer)((*folderNode)(nil))
	_ = (fs.NodeLookuper)((*folderNode)(nil))

	_ = (fs.NodeGetattrer)((*streamNode)(nil))
	_ = (fs.NodeReaddirer)((*streamNode)(nil))
	_ = (fs.NodeLookuper)((*streamNode)(nil))
	_ = (fs.NodeOnForgetter)((*streamNode)(nil))

	_ = (fs.NodeGetattrer)((*rawFile)(nil))
	_ = (fs.NodeOpener)((*rawFile)(nil))
	_ = (fs.FileGetattrer)((*liveRawHandle)(nil))
	_ = (fs.FilePassthroughFder)(passthroughHandle{})
	_ = (fs.FileReader)((*liveRawHandle)(nil))
	_ = (fs.FileReleaser)((*liveRawHandle)(nil))
	_ = (fs.FileReader)((*readerHandle)(nil))
	_ = (fs.FileReleaser)((*readerHandle)(nil))

	_ = (fs.NodeGetattrer)((*statFile)(nil))
	_ = (fs.NodeOpener)((*statFile)(nil))
	_ = (fs.FileReader)((*bytesHandle)(nil))

	_ = (fs.NodeGetattrer)((*viewFile)(nil))
	_ = (fs.NodeOpener)((*viewFile)(nil))
	_ = (fs.NodeReleaser)((*viewFile)(nil))
	_ = (fs.NodeReader)((*viewFile)(nil))

	_ = (fs.NodeGetattrer)((*seqDir)(nil))
	_ = (fs.NodeLookuper)((*seqDir)(nil))
	_ = (fs.NodeOpendirHandler)((*seqDir)(nil))
	_ = (fs.FileReaddirenter)((*seqListing)(nil))
	_ = (fs.FileSeekdirer)((*seqListing)(nil))

	_ = (fs.NodeReaddirer)((*indexDir)(nil))
	_ = (fs.NodeLookuper)((*indexDir)(nil))
	_ = (fs.NodeLookuper)((*indexRangeDir)(nil))
	_ = (fs.NodeReaddirer)((*tagDir)(nil))
	_ = (fs.NodeLookuper)((*tagDir)(nil))
	_ = (fs.NodeLookuper)((*queryDir)(nil))

	_ = (fs.NodeOpener)((*followFile)(nil))
	_ = (fs.NodeFlusher)((*rawFile)(nil))
	_ = (fs.NodeFlusher)((*viewFile)(nil))
	_ = (fs.NodeFlusher)((*statFile)(nil))
	_ = (fs.NodeFlusher)((*followFile)(nil))
	_ = (fs.FileReader)((*followHandle)(nil))
)
