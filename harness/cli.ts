// Placeholder entry; replaced by the real CLI.
console.log('bench');
